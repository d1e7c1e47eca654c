// Pooled heatmap rows on the GPU: one CTA per sampled query row computes the row's causal softmax (fp32 logits from
// 16-bit q/k, a max/sum pass then a mass pass) and pools it into G key bins in shared memory, in original order and
// in the index's kernel order, counting the row's causal pairs and the pairs its query block's lists keep (key blocks
// as a bitmap, columns by binary search). The CPU core's attention::heatmaps (kernels/cpu/src/heatmap.cpp) is the
// reference.
#include "heatmap_rows.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <string>

namespace mmi::cuda::detail {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kBlock = 64;
constexpr int64_t kMaxGrid = 4096;
constexpr int kMaxDim = 256;

struct RowParams {
  const void* q;
  const void* k;
  int64_t n;
  int32_t dim, group;
  float scale;
  bool causal;
  int64_t grid;
  int64_t head;
  const int64_t* rows;
  int64_t row_count;
  DeviceIndexView index;
  float* mass;  // [rows, grid] each
  float* mass_permuted;
  int32_t* pairs;
  int32_t* pairs_permuted;
  int32_t* kept;
  int32_t* kept_permuted;
  float* recall;  // [rows]
  int32_t* kernel_row;
};

__device__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ float to_float(__half x) { return __half2float(x); }

template <typename T>
__device__ float logit(const float* qrow, const T* krow, int dim, float scale) {
  float acc = 0.0f;
  for (int d = 0; d < dim; ++d) acc = fmaf(qrow[d], to_float(krow[d]), acc);
  return acc * scale;
}

// Merges the softmax state (m2, l2) into (m, l): running maximum and the sum of exp(s - m).
__device__ void merge_state(float& m, float& l, float m2, float l2) {
  const float mm = fmaxf(m, m2);
  if (mm == -INFINITY) return;
  l = l * expf(m - mm) + l2 * expf(m2 - mm);
  m = mm;
}

// The row's maximum logit and exp-sum over the whole CTA; every thread gets them.
__device__ void block_state(float& m, float& l, float* red_m, float* red_l) {
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
    const float l2 = __shfl_xor_sync(0xffffffffu, l, o);
    merge_state(m, l, m2, l2);
  }
  const int warp = threadIdx.x >> 5;
  if ((threadIdx.x & 31) == 0) {
    red_m[warp] = m;
    red_l[warp] = l;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float bm = -INFINITY, bl = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w) merge_state(bm, bl, red_m[w], red_l[w]);
    red_m[0] = bm;
    red_l[0] = bl;
  }
  __syncthreads();
  m = red_m[0];
  l = red_l[0];
}

// Sum over the CTA; the result is valid in thread 0.
__device__ float block_sum(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // `red` may still be read by the previous reduction
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  float total = 0.0f;
  if (threadIdx.x == 0) {
    for (int w = 0; w < kThreads / 32; ++w) total += red[w];
  }
  return total;
}

// Whether the ascending column list ids[lo, hi) holds the kernel key position `kp`.
__device__ bool listed(const int32_t* ids, int64_t lo, int64_t hi, int64_t kp) {
  int64_t a = lo, b = hi;
  while (a < b) {
    const int64_t mid = (a + b) / 2;
    if (ids[mid] < kp) {
      a = mid + 1;
    } else {
      b = mid;
    }
  }
  return a < hi && ids[a] == kp;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) heatmap_rows(const RowParams p) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float red_m[kThreads / 32], red_l[kThreads / 32];
  __shared__ int64_t row_kernel;
  const int64_t n = p.n, g = p.grid, nb = (n + kBlock - 1) / kBlock;
  float* qrow = reinterpret_cast<float*>(smem);
  float* mass = qrow + p.dim;
  float* mass_p = mass + g;
  int32_t* pairs = reinterpret_cast<int32_t*>(mass_p + g);
  int32_t* pairs_p = pairs + g;
  int32_t* kept = pairs_p + g;
  int32_t* kept_p = kept + g;
  uint32_t* block_bits = reinterpret_cast<uint32_t*>(kept_p + g);
  const int64_t i = blockIdx.x, row = p.rows[i], head = p.head;
  const T* q = static_cast<const T*>(p.q) + (head * n + row) * p.dim;
  const T* k = static_cast<const T*>(p.k) + (head / p.group) * n * p.dim;
  for (int d = threadIdx.x; d < p.dim; d += kThreads) qrow[d] = to_float(q[d]);
  for (int64_t b = threadIdx.x; b < g; b += kThreads) {
    mass[b] = 0.0f;
    mass_p[b] = 0.0f;
    pairs[b] = 0;
    pairs_p[b] = 0;
    kept[b] = 0;
    kept_p[b] = 0;
  }
  for (int64_t w = threadIdx.x; w < (nb + 31) / 32; w += kThreads) block_bits[w] = 0u;
  if (threadIdx.x == 0) row_kernel = row;
  __syncthreads();
  // The row's kernel position: where the row permutation holds it.
  const int32_t* row_perm = p.index.row_perm ? p.index.row_perm + head * n : nullptr;
  if (row_perm) {
    for (int64_t r = threadIdx.x; r < n; r += kThreads) {
      if (row_perm[r] == row) row_kernel = r;
    }
  }
  __syncthreads();
  const int64_t list = head * nb + row_kernel / kBlock;
  for (int64_t e = p.index.block_offsets[list] + threadIdx.x; e < p.index.block_offsets[list + 1]; e += kThreads) {
    const int32_t b = p.index.block_ids[e];
    atomicOr(&block_bits[b >> 5], 1u << (b & 31));
  }
  const int64_t c0 = p.index.column_offsets[list], c1 = p.index.column_offsets[list + 1];
  __syncthreads();

  const int64_t limit = p.causal ? row + 1 : n;
  float m = -INFINITY, l = 0.0f;
  for (int64_t key = threadIdx.x; key < limit; key += kThreads) {
    const float s = logit(qrow, k + key * p.dim, p.dim, p.scale);
    if (s > m) {
      l = l * expf(m - s) + 1.0f;
      m = s;
    } else {
      l += expf(s - m);
    }
  }
  block_state(m, l, red_m, red_l);
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;

  // Keys in kernel order, so the mask test needs no inverse permutation.
  const int32_t* col_perm = p.index.col_perm ? p.index.col_perm + head * n : nullptr;
  const int64_t end = col_perm ? n : limit;
  float inside = 0.0f;
  for (int64_t kp = threadIdx.x; kp < end; kp += kThreads) {
    const int64_t key = col_perm ? col_perm[kp] : kp;
    if (key >= limit) continue;
    const float w = expf(logit(qrow, k + key * p.dim, p.dim, p.scale) - m) * inv;
    const int64_t kb = key * g / n, kbp = kp * g / n;
    atomicAdd(&mass[kb], w);
    atomicAdd(&mass_p[kbp], w);
    atomicAdd(&pairs[kb], 1);
    atomicAdd(&pairs_p[kbp], 1);
    const int64_t block = kp / kBlock;
    const bool keep = ((block_bits[block >> 5] >> (block & 31)) & 1u) != 0u ||
                      listed(p.index.column_ids, c0, c1, kp);
    if (keep) {
      atomicAdd(&kept[kb], 1);
      atomicAdd(&kept_p[kbp], 1);
      inside += w;
    }
  }
  inside = block_sum(inside, red_l);
  __syncthreads();
  const int64_t base = i * g;
  for (int64_t b = threadIdx.x; b < g; b += kThreads) {
    p.mass[base + b] = mass[b];
    p.mass_permuted[base + b] = mass_p[b];
    p.pairs[base + b] = pairs[b];
    p.pairs_permuted[base + b] = pairs_p[b];
    p.kept[base + b] = kept[b];
    p.kept_permuted[base + b] = kept_p[b];
  }
  if (threadIdx.x == 0) {
    p.recall[i] = inside;
    p.kernel_row[i] = static_cast<int32_t>(row_kernel);
  }
}

template <typename T>
void append(std::vector<T>& dst, const DeviceBuffer<T>& src, Stream stream) {
  const std::vector<T> host = src.download(stream);
  dst.insert(dst.end(), host.begin(), host.end());
}

}  // namespace

HeatmapRowSums heatmap_row_sums(const AttentionShape& shape, const void* q, const void* k,
                                const DeviceIndexView& index, const std::vector<int64_t>& heads,
                                const std::vector<int64_t>& rows, int64_t grid, bool causal, Stream stream_handle) {
  const int64_t n = shape.n;
  if (n <= 0 || n > INT32_MAX - 2) throw Error("heatmaps: N must be in [1, 2^31 - 2], got " + std::to_string(n));
  if (shape.heads_q <= 0 || shape.heads_kv <= 0 || shape.heads_q % shape.heads_kv != 0) {
    throw Error("heatmaps: query heads must be a positive multiple of kv heads");
  }
  if (shape.head_dim < 1 || shape.head_dim > kMaxDim) {
    throw Error("heatmaps: head dim must be in [1, 256], got " + std::to_string(shape.head_dim));
  }
  if (shape.dtype != DType::bf16 && shape.dtype != DType::f16) throw Error("heatmaps: dtype must be bf16 or f16");
  if (!(shape.scale >= 0.0f) || std::isinf(shape.scale)) throw Error("heatmaps: scale must be finite and >= 0");
  if (!q || !k) throw Error("heatmaps: q and k must be device pointers");
  if (index.n != n || index.heads != shape.heads_q || !index.block_offsets || !index.column_offsets) {
    throw Error("heatmaps: the index must cover all " + std::to_string(shape.heads_q) + " query heads and N=" +
                std::to_string(n));
  }
  if (grid < 1 || grid > kMaxGrid) throw Error("heatmaps: grid must be in [1, 4096], got " + std::to_string(grid));
  if (heads.empty() || rows.empty()) throw Error("heatmaps: no heads or no rows");
  for (const int64_t h : heads) {
    if (h < 0 || h >= shape.heads_q) throw Error("heatmaps: head " + std::to_string(h) + " is out of range");
  }
  for (const int64_t r : rows) {
    if (r < 0 || r >= n) throw Error("heatmaps: row " + std::to_string(r) + " is out of range");
  }
  if (rows.size() > static_cast<size_t>(INT32_MAX)) throw Error("heatmaps: too many rows");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const int64_t nb = (n + kBlock - 1) / kBlock;
  const size_t smem = static_cast<size_t>(shape.head_dim + 6 * grid + (nb + 31) / 32) * 4;
  int device = 0, optin = 0;
  MMI_CUDA_CHECK(cudaGetDevice(&device));
  MMI_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (smem + 2 * kThreads / 32 * sizeof(float) + sizeof(int64_t) > static_cast<size_t>(optin)) {
    throw Error("heatmaps: a grid of " + std::to_string(grid) + " bins over " + std::to_string(n) +
                " tokens needs more shared memory than this GPU has per block; use a smaller grid");
  }
  const auto R = static_cast<int64_t>(rows.size());
  const auto cells = static_cast<size_t>(R * grid);
  const DeviceBuffer<int64_t> drows(rows, stream_handle);
  DeviceBuffer<float> mass(cells), mass_p(cells), recall(static_cast<size_t>(R));
  DeviceBuffer<int32_t> pairs(cells), pairs_p(cells), kept(cells), kept_p(cells), kernel_row(static_cast<size_t>(R));
  RowParams p{};
  p.q = q;
  p.k = k;
  p.n = n;
  p.dim = shape.head_dim;
  p.group = shape.heads_q / shape.heads_kv;
  p.scale = shape.scale > 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  p.causal = causal;
  p.grid = grid;
  p.rows = drows.get();
  p.row_count = R;
  p.index = index;
  p.mass = mass.get();
  p.mass_permuted = mass_p.get();
  p.pairs = pairs.get();
  p.pairs_permuted = pairs_p.get();
  p.kept = kept.get();
  p.kept_permuted = kept_p.get();
  p.recall = recall.get();
  p.kernel_row = kernel_row.get();
  const auto kernel = shape.dtype == DType::bf16 ? heatmap_rows<__nv_bfloat16> : heatmap_rows<__half>;
  MMI_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  HeatmapRowSums out;
  out.grid = grid;
  // One head at a time: device memory stays at one head's rows.
  for (const int64_t h : heads) {
    p.head = h;
    kernel<<<static_cast<unsigned>(R), kThreads, smem, stream>>>(p);
    MMI_CUDA_CHECK_LAUNCH("heatmap_rows");
    append(out.mass, mass, stream_handle);
    append(out.mass_permuted, mass_p, stream_handle);
    append(out.pairs, pairs, stream_handle);
    append(out.pairs_permuted, pairs_p, stream_handle);
    append(out.kept, kept, stream_handle);
    append(out.kept_permuted, kept_p, stream_handle);
    append(out.recall, recall, stream_handle);
    append(out.kernel_row, kernel_row, stream_handle);
  }
  return out;
}

}  // namespace mmi::cuda::detail
