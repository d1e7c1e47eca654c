// Block-wide ordered compaction shared by the GPU selections and index builders: each thread's flag gets its rank
// among the flagged threads before it, so selected items are written in thread (= position) order.
#pragma once

#include <cuda_runtime.h>

namespace mmi::cuda::detail {

// Exclusive prefix of `flag` over the block (thread order) and the block total. warp_sums: 33 ints of shared
// memory. Every thread of the block must call it (it synchronises).
__device__ __forceinline__ int block_prefix(bool flag, int* warp_sums, int& total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const uint32_t ballot = __ballot_sync(0xffffffffu, flag);
  const int within = __popc(ballot & ((1u << lane) - 1));
  if (lane == 0) warp_sums[warp] = __popc(ballot);
  __syncthreads();
  if (warp == 0) {
    const int v = lane < static_cast<int>(blockDim.x >> 5) ? warp_sums[lane] : 0;
    int incl = v;
    for (int o = 1; o < 32; o <<= 1) {
      const int x = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += x;
    }
    warp_sums[lane] = incl - v;
    if (lane == 31) warp_sums[32] = incl;
  }
  __syncthreads();
  const int prefix = warp_sums[warp] + within;
  total = warp_sums[32];
  __syncthreads();
  return prefix;
}

// Order-preserving map of a float to unsigned (larger float, larger key), so radix selection works on signed
// scores.
__device__ __forceinline__ uint32_t ordered_key(float x) {
  const uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

}  // namespace mmi::cuda::detail
