#include "mmi/ops/embedding.hpp"

namespace mmi::ops {

void embedding(const MatrixView& table, const std::int32_t* ids, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) load_row(table, ids[i], 0, table.cols, out + i * table.cols);
}

}  // namespace mmi::ops
