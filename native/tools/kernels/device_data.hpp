// Device-side helpers of the check/bench tool: deterministic Gaussian inputs written straight into GPU memory (the
// large problems would take minutes to generate on the host), and a poison fill that marks unwritten outputs.
#pragma once

#include <cstdint>

#include "mmi/cuda/attention.hpp"

namespace mmi::kernels_tool {

// count values of N(0, stddev^2) as bf16/f16, a function of (seed, position) only.
void fill_normal(void* dst, int64_t count, cuda::DType dtype, uint64_t seed, float stddev);
// Every 16-bit element set to a NaN pattern.
void fill_nan(void* dst, int64_t count);
// Number of non-finite 16-bit values.
int64_t count_nonfinite(const void* src, int64_t count, cuda::DType dtype);

}  // namespace mmi::kernels_tool
