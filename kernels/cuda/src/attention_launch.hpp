// Internal entry points of the two attention kernel families, called by the dispatcher (attention.cu) and by the
// benchmark, which also times the variants.
#pragma once

#include <cuda_runtime.h>

#include "attention_common.cuh"
#include "mmi/cuda/attention.hpp"

namespace mmi::cuda::detail {

struct Sm90Options {
  bool pingpong = true;  // consumers take turns issuing matrix products
  bool tma = true;       // dense tiles by the bulk tensor copy engine (false: cp.async, as sparse tiles)
};

// Hopper kernel: head dim 64 or 128.
void launch_sm90(const AttentionParams& p, DType dtype, int head_dim, bool sparse, const Sm90Options& options,
                 cudaStream_t stream);
void launch_sm90_bf16(const AttentionParams& p, int head_dim, bool sparse, const Sm90Options& options,
                      cudaStream_t stream);
void launch_sm90_f16(const AttentionParams& p, int head_dim, bool sparse, const Sm90Options& options,
                     cudaStream_t stream);
// Portable kernel (sm_80+): head dim 64, 80 or 128.
void launch_sm80(const AttentionParams& p, DType dtype, int head_dim, bool sparse, cudaStream_t stream);

AttentionParams make_params(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView* index);

}  // namespace mmi::cuda::detail
