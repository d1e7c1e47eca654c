// Activations of the Qwen2.5-VL blocks: SwiGLU (SiLU(gate) · up) and exact (erf) GELU.
#pragma once

#include <cstdint>

namespace mmi::ops {

// out[i] = silu(gate[i]) * up[i]; out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, std::int64_t n);

// x[i] = 0.5 · x · (1 + erf(x / √2)), in place.
void gelu_erf(float* x, std::int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, std::int64_t n);

}  // namespace mmi::ops
