#include "mmi/ops/softmax.hpp"

#include <algorithm>
#include <cmath>

namespace mmi::ops {

void softmax_rows(float* x, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    const float mx = *std::max_element(xr, xr + cols);
    double sum = 0.0;
    for (std::int64_t i = 0; i < cols; ++i) {
      xr[i] = std::exp(xr[i] - mx);
      sum += xr[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (std::int64_t i = 0; i < cols; ++i) xr[i] *= inv;
  }
}

}  // namespace mmi::ops
