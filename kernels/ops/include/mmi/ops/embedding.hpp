// Embedding lookup from a table in its storage type.
#pragma once

#include <cstdint>

#include "mmi/ops/matrix.hpp"

namespace mmi::ops {

// out[i] = table[ids[i]] as fp32, for i < n. Ids must be in [0, table.rows) (the caller validates them).
void embedding(const MatrixView& table, const std::int32_t* ids, std::int64_t n, float* out);

}  // namespace mmi::ops
