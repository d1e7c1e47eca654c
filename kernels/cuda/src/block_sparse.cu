// Block-sparse estimation and index on the GPU (docs/algorithm.md §4.3; the CPU core's block_sparse_index is the
// reference): q and k mean-pooled per 64-token block in fp32; one CTA per (head, R consecutive query blocks) scores
// every causal key block (a warp per key block, lanes over the head dims, so each pooled key row read serves the R
// query blocks), then per query block a radix selection of the top k in shared memory, written ascending. Each query
// block keeps min(max(k, 2), i + 1) blocks, so the CSR offsets have a closed form and no counting pass is needed.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>

#include "mmi/cuda/estimate.hpp"
#include "select.cuh"

namespace mmi::cuda {
namespace {

constexpr int64_t kB = 64;
constexpr int kThreads = 256;

__device__ __forceinline__ float load_f(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ float load_f(const __half* p) { return __half2float(*p); }

// pooled[h][b][d] = mean of rows [64b, min(n, 64b + 64)) of head h, dim d. One CTA per (block, head), a thread per
// dim.
template <typename T>
__global__ void pool_blocks(const T* x, int64_t n, int32_t dim, float* pooled) {
  const int64_t b = blockIdx.x, h = blockIdx.y, nb = gridDim.x;
  const int64_t r0 = b * kB, r1 = min(n, r0 + kB);
  for (int d = threadIdx.x; d < dim; d += blockDim.x) {
    float s = 0.0f;
    for (int64_t r = r0; r < r1; ++r) s += load_f(x + (h * n + r) * dim + d);
    pooled[(h * nb + b) * dim + d] = s / static_cast<float>(r1 - r0);
  }
}

__device__ __forceinline__ int64_t kept_before(int64_t i, int64_t k2) {
  // Sum over i' < i of min(k2, i' + 1): what query blocks before i keep.
  return i <= k2 ? i * (i + 1) / 2 : k2 * (k2 + 1) / 2 + (i - k2) * k2;
}

__global__ void block_sparse_offsets(int64_t nb, int32_t heads, int64_t k2, int64_t* block_offsets) {
  const int64_t total = nb * heads;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e <= total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = e / nb, i = e % nb;
    block_offsets[e] = h * kept_before(nb, k2) + kept_before(i, k2);
  }
}

// Scores of R query blocks [i0, i0 + R) of head blockIdx.y against key blocks [0, i0 + R) in shared memory, then each
// one's top selection. D: head dim rounded up to a multiple of 32 (lanes hold dims lane + 32t).
template <int R, int DT>
__global__ void __launch_bounds__(kThreads) block_sparse_select(const float* pq, const float* pk, int64_t nb,
                                                               int32_t dim, int32_t group, float scale, int64_t k2,
                                                               int32_t* block_ids) {
  extern __shared__ float scores[];  // [R][nb]
  __shared__ int hist[256];
  __shared__ int warp_sums[33];
  __shared__ uint32_t s_prefix;
  __shared__ int s_remaining, s_equal;
  const int64_t h = blockIdx.y, i0 = static_cast<int64_t>(blockIdx.x) * R;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t kvh = h / group;
  float qv[R][DT / 32];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < DT / 32; ++t) {
      const int d = lane + 32 * t;
      qv[r][t] = (i0 + r < nb && d < dim) ? pq[(h * nb + i0 + r) * dim + d] : 0.0f;
    }
  }
  const int64_t j_end = min(nb, i0 + R);
  for (int64_t j = warp; j < j_end; j += kThreads / 32) {
    float kv[DT / 32];
#pragma unroll
    for (int t = 0; t < DT / 32; ++t) {
      const int d = lane + 32 * t;
      kv[t] = d < dim ? pk[(kvh * nb + j) * dim + d] : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float s = 0.0f;
#pragma unroll
      for (int t = 0; t < DT / 32; ++t) s = fmaf(qv[r][t], kv[t], s);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (lane == 0) scores[r * nb + j] = s * scale;
    }
  }
  __syncthreads();
  for (int r = 0; r < R; ++r) {
    const int64_t i = i0 + r;
    if (i >= nb) break;
    const float* row = scores + r * nb;
    const int64_t length = i + 1;
    const int64_t k = min(k2, length);
    // The first block and the diagonal always: they take the largest key.
    auto key_of = [&](int64_t j) { return (j == 0 || j == i) ? 0xFFFFFFFFu : detail::ordered_key(row[j]); };
    int32_t* dst = block_ids + h * kept_before(nb, k2) + kept_before(i, k2);
    if (k >= length) {  // every block kept (the first k2 query blocks): no selection
      for (int64_t j = threadIdx.x; j < length; j += blockDim.x) dst[j] = static_cast<int32_t>(j);
      continue;
    }
    uint32_t prefix = 0, mask = 0;
    int remaining = static_cast<int>(k);
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
      __syncthreads();
      // Scores of one query block share their top bytes: a warp adds its equal bins once (__match_any_sync).
      for (int64_t base = 0; base < length; base += blockDim.x) {
        const int64_t j = base + threadIdx.x;
        const uint32_t key = j < length ? key_of(j) : 0u;
        const bool counted = j < length && (key & mask) == prefix;
        const int bin = counted ? static_cast<int>((key >> shift) & 0xFF) : -1;
        const uint32_t same = __match_any_sync(0xffffffffu, bin);
        if (counted && (threadIdx.x & 31) == __ffs(same) - 1) atomicAdd(&hist[bin], __popc(same));
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        int above = 0, b = 255;
        for (; b > 0; --b) {
          if (above + hist[b] >= remaining) break;
          above += hist[b];
        }
        s_prefix = prefix | (static_cast<uint32_t>(b) << shift);
        s_remaining = remaining - above;
        s_equal = hist[b];  // after the last pass: the keys equal to the threshold
      }
      __syncthreads();
      prefix = s_prefix;
      remaining = s_remaining;
      mask |= 0xFFu << shift;
      __syncthreads();
    }
    // Every key above the threshold, and the first `remaining` equal to it, ascending (one compaction when every
    // equal key is taken, the usual case).
    const bool all_equal = s_equal == remaining;
    int written = 0, equal_seen = 0;
    for (int64_t base = 0; base < length; base += blockDim.x) {
      const int64_t j = base + threadIdx.x;
      const bool valid = j < length;
      const uint32_t key = valid ? key_of(j) : 0u;
      const bool eq = valid && key == prefix;
      int eq_total = 0, eq_rank = 0;
      if (!all_equal) eq_rank = detail::block_prefix(eq, warp_sums, eq_total);
      const bool take = valid && (key > prefix || (eq && (all_equal || equal_seen + eq_rank < remaining)));
      int take_total = 0;
      const int pos = detail::block_prefix(take, warp_sums, take_total);
      if (take && written + pos < k) dst[written + pos] = static_cast<int32_t>(j);
      written += take_total;
      equal_seen += eq_total;
    }
    __syncthreads();
  }
}

template <int R, int DT>
void launch_select(const float* pq, const float* pk, int64_t nb, int32_t heads, int32_t dim, int32_t group,
                   float scale, int64_t k2, int32_t* ids, cudaStream_t stream) {
  const size_t smem = static_cast<size_t>(R) * static_cast<size_t>(nb) * sizeof(float);
  MMI_CUDA_CHECK(cudaFuncSetAttribute(block_sparse_select<R, DT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(smem)));
  block_sparse_select<R, DT><<<dim3(static_cast<unsigned>((nb + R - 1) / R), static_cast<unsigned>(heads)), kThreads,
                               smem, stream>>>(pq, pk, nb, dim, group, scale, k2, ids);
  MMI_CUDA_CHECK_LAUNCH("block_sparse_select");
}

template <int DT>
void select_rows(int rows, const float* pq, const float* pk, int64_t nb, int32_t heads, int32_t dim, int32_t group,
                 float scale, int64_t k2, int32_t* ids, cudaStream_t stream) {
  switch (rows) {
    case 8: return launch_select<8, DT>(pq, pk, nb, heads, dim, group, scale, k2, ids, stream);
    case 4: return launch_select<4, DT>(pq, pk, nb, heads, dim, group, scale, k2, ids, stream);
    case 2: return launch_select<2, DT>(pq, pk, nb, heads, dim, group, scale, k2, ids, stream);
    default: return launch_select<1, DT>(pq, pk, nb, heads, dim, group, scale, k2, ids, stream);
  }
}

}  // namespace

DeviceIndex estimate_block_sparse(const AttentionShape& shape, const void* q, const void* k, int64_t top_k,
                                  Stream stream_handle) {
  validate(shape);
  if (!q || !k) throw Error("block-sparse: q and k must be device pointers");
  if (top_k < 0) throw Error("block-sparse: top_k must be >= 0");
  if (shape.n > INT32_MAX - 2) throw Error("block-sparse: N out of range");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const int64_t n = shape.n, nb = num_blocks(n);
  const int32_t dim = shape.head_dim, heads = shape.heads_q;
  int device = 0, optin = 0;
  MMI_CUDA_CHECK(cudaGetDevice(&device));
  MMI_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  // Scores of R query blocks must fit in shared memory beside the selection's few KB.
  const size_t room = static_cast<size_t>(optin) - 4096;
  // Up to 8 query blocks per CTA (each pooled key row read serves them all) while their scores stay within 72 KB,
  // so that three CTAs share a multiprocessor.
  int rows = 8;
  while (rows > 1 && static_cast<size_t>(rows) * static_cast<size_t>(nb) * sizeof(float) > (size_t{72} << 10)) {
    rows /= 2;
  }
  if (static_cast<size_t>(nb) * sizeof(float) > room) {
    throw Error("block-sparse: " + std::to_string(nb) + " key blocks do not fit the GPU selection's shared memory");
  }
  DeviceBuffer<float> pq(static_cast<size_t>(heads) * nb * dim), pk(static_cast<size_t>(shape.heads_kv) * nb * dim);
  if (shape.dtype == DType::bf16) {
    pool_blocks<<<dim3(static_cast<unsigned>(nb), heads), 128, 0, stream>>>(static_cast<const __nv_bfloat16*>(q), n,
                                                                             dim, pq.get());
    pool_blocks<<<dim3(static_cast<unsigned>(nb), shape.heads_kv), 128, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(k), n, dim, pk.get());
  } else {
    pool_blocks<<<dim3(static_cast<unsigned>(nb), heads), 128, 0, stream>>>(static_cast<const __half*>(q), n, dim,
                                                                             pq.get());
    pool_blocks<<<dim3(static_cast<unsigned>(nb), shape.heads_kv), 128, 0, stream>>>(static_cast<const __half*>(k),
                                                                                      n, dim, pk.get());
  }
  MMI_CUDA_CHECK_LAUNCH("pool_blocks");
  const int64_t k2 = std::min(std::max<int64_t>(top_k, 2), nb);
  DeviceIndex index(n, heads, stream_handle);
  block_sparse_offsets<<<256, 256, 0, stream>>>(nb, heads, k2, index.block_offsets.get());
  MMI_CUDA_CHECK_LAUNCH("block_sparse_offsets");
  const int64_t per_head = k2 * (k2 + 1) / 2 + (nb - k2) * k2;  // kept_before(nb, k2)
  index.block_ids = DeviceBuffer<int32_t>(static_cast<size_t>(std::max<int64_t>(per_head * heads, 1)));
  index.column_ids = DeviceBuffer<int32_t>(1);
  const float scale = shape.scale > 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(dim));
  const int32_t group = shape.heads_q / shape.heads_kv;
  if (dim <= 64) {
    select_rows<64>(rows, pq.get(), pk.get(), nb, heads, dim, group, scale, k2, index.block_ids.get(), stream);
  } else if (dim <= 128) {
    select_rows<128>(rows, pq.get(), pk.get(), nb, heads, dim, group, scale, k2, index.block_ids.get(), stream);
  } else {
    select_rows<256>(rows, pq.get(), pk.get(), nb, heads, dim, group, scale, k2, index.block_ids.get(), stream);
  }
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return index;
}

}  // namespace mmi::cuda
