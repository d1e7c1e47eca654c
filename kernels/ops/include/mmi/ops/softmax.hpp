// Numerically stable softmax over the last dimension.
#pragma once

#include <cstdint>

namespace mmi::ops {

// Each of rows rows of cols elements becomes its softmax, in place (max subtracted, sum in double).
void softmax_rows(float* x, std::int64_t rows, std::int64_t cols);

}  // namespace mmi::ops
