// RMSNorm as Qwen2 computes it: x · rsqrt(mean(x²) + eps) in fp32, then times the weight.
#pragma once

#include <cstdint>

namespace mmi::ops {

// out[r] = weight ⊙ x[r] / sqrt(mean(x[r]²) + eps) for each of rows rows of dim elements. out may alias x.
void rms_norm(const float* x, std::int64_t rows, std::int64_t dim, const float* weight, float eps, float* out);

}  // namespace mmi::ops
