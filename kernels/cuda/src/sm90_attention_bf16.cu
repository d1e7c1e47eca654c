// Hopper kernel instances for bf16 (see sm90_attention.cuh).
#include "sm90_attention.cuh"

namespace mmi::cuda::detail {

void launch_sm90_bf16(const AttentionParams& p, int head_dim, bool sparse, const Sm90Options& options,
                      cudaStream_t stream) {
  sm90_dispatch<__nv_bfloat16>(p, DType::bf16, head_dim, sparse, options, stream);
}

}  // namespace mmi::cuda::detail
