// Internal entry points of the two attention kernel families, called by the dispatcher (attention.cu) and by the
// benchmark, which also times the variants.
#pragma once

#include <cuda_runtime.h>

#include "attention_common.cuh"
#include "mmi/cuda/attention.hpp"

namespace mmi::cuda::detail {

struct Sm90Options {
  bool pingpong = true;  // consumers take turns issuing matrix products
};

// Hopper kernel: head dim 64 or 128. Sparse when p.block_offsets is set.
void launch_sm90(const AttentionParams& p, DType dtype, int head_dim, bool sparse, const Sm90Options& options,
                 cudaStream_t stream);
// Portable kernel (sm_80+): head dim 64, 80 or 128.
void launch_sm80(const AttentionParams& p, DType dtype, int head_dim, bool sparse, cudaStream_t stream);

AttentionParams make_params(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView* index);

}  // namespace mmi::cuda::detail
