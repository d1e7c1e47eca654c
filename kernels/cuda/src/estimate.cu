// GPU estimation: the last rows' attention mass (tensor cores, two passes: row max/sum, then normalised mass per
// column and per diagonal), vertical-slash selection (segmented radix sorts), grid stride scoring.
#include "mmi/cuda/estimate.hpp"
#include "mmi/cuda/index_build.hpp"

#include <cuda_runtime.h>

#include <cub/device/device_segmented_radix_sort.cuh>

#include <algorithm>
#include <climits>
#include <cmath>

#include "attention_common.cuh"
#include "ptx.cuh"

namespace mmi::cuda {
namespace {

using detail::cp_async16;
using detail::cp_async_commit;
using detail::cp_async_wait;
using detail::fast_exp2;
using detail::ldmatrix_x4;
using detail::Mma16816;
using detail::smem_addr;

constexpr int kChunk = 4096;  // keys per CTA

struct MassParams {
  const void* q;
  const void* k;
  int64_t n;
  int32_t heads_q, group;
  float scale_log2;
  int64_t row_begin, row_end, key_begin;
  int32_t chunks;     // pass 1: chunks over [0, row_end)
  float* part_m;      // [heads, chunks, 64]
  float* part_l;
  float* column;      // [heads, length]
  float* diagonal;    // [heads, length]
};

template <int D>
struct MassLayout {
  static constexpr int Stride = D + 8;
  static constexpr int Chunks = D / 8;
  static constexpr int TileBytes = 64 * Stride * 2;
  static constexpr int kQ = 0;
  static constexpr int kK = TileBytes;
  static constexpr int kBytes = kK + 2 * TileBytes;
};

// One pass over the keys [k_lo, k_hi) of a chunk: S = Q_rows K^T per 64-key tile on tensor cores, handed to
// `visit(s, k0)` with causal and range masks already applied (-inf).
template <typename T, int D, typename Visit>
__device__ void for_each_tile(const MassParams& p, int64_t head, int64_t k_lo, int64_t k_hi, uint8_t* smem,
                              const int32_t (&rows)[2], Visit&& visit) {
  using L = MassLayout<D>;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, t4 = lane & 3;
  const uint32_t sbase = smem_addr(smem);
  const int64_t n = p.n;
  const T* qbase = static_cast<const T*>(p.q) + head * n * D;
  const T* kbase = static_cast<const T*>(p.k) + (head / p.group) * n * D;
#pragma unroll
  for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
    const int ci = tid + 128 * j, r = ci / L::Chunks, c = ci % L::Chunks;
    const int64_t row = p.row_begin + r;
    const bool ok = row < p.row_end;
    cp_async16(sbase + L::kQ + (r * L::Stride + c * 8) * 2, ok ? qbase + row * D + c * 8 : qbase, ok ? 16 : 0);
  }
  auto load = [&](int stage, int64_t k0) {
#pragma unroll
    for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
      const int ci = tid + 128 * j, r = ci / L::Chunks, c = ci % L::Chunks;
      const int64_t key = k0 + r;
      const bool ok = key < k_hi;
      cp_async16(sbase + L::kK + stage * L::TileBytes + (r * L::Stride + c * 8) * 2,
                 ok ? kbase + key * D + c * 8 : kbase, ok ? 16 : 0);
    }
    cp_async_commit();
  };
  uint32_t qf[D / 16][4];
  load(0, k_lo);
  int stage = 0;
  for (int64_t k0 = k_lo; k0 < k_hi; k0 += 64, stage ^= 1) {
    if (k0 + 64 < k_hi) {
      load(stage ^ 1, k0 + 64);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (k0 == k_lo) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        ldmatrix_x4(qf[kk], sbase + L::kQ + ((warp * 16 + (lane & 15)) * L::Stride + kk * 16 + (lane >> 4) * 8) * 2);
      }
    }
    float s[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) s[i] = 0.0f;
    const uint32_t kst = sbase + L::kK + stage * L::TileBytes;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int jp = 0; jp < 4; ++jp) {
        uint32_t b[4];
        const int key = 16 * jp + (lane & 7) + 8 * (lane >> 4);
        ldmatrix_x4(b, kst + (key * L::Stride + 16 * kk + 8 * ((lane >> 3) & 1)) * 2);
        Mma16816<T>::run(s[8 * jp], s[8 * jp + 1], s[8 * jp + 2], s[8 * jp + 3], qf[kk], b[0], b[1]);
        Mma16816<T>::run(s[8 * jp + 4], s[8 * jp + 5], s[8 * jp + 6], s[8 * jp + 7], qf[kk], b[2], b[3]);
      }
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = k0 + 8 * j + 2 * t4 + (e & 1);
        if (key >= k_hi || key > rows[e >> 1]) s[j * 4 + e] = -INFINITY;
      }
    }
    visit(s, k0);
    __syncthreads();
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(128) rows_max_sum(const MassParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  const int64_t head = blockIdx.y;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2;
  int32_t rows[2];
  for (int r = 0; r < 2; ++r) {
    const int64_t row = p.row_begin + warp * 16 + g + 8 * r;
    rows[r] = row < p.row_end ? static_cast<int32_t>(row) : -1;
  }
  const int64_t k_lo = static_cast<int64_t>(blockIdx.x) * kChunk;
  const int64_t k_hi = min(k_lo + kChunk, p.row_end);
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  for_each_tile<T, D>(p, head, k_lo, k_hi, smem, rows, [&](float (&s)[32], int64_t) {
    float alpha[2];
    detail::online_softmax<8>(s, m, l, p.scale_log2, alpha);
  });
  // online_softmax already shares the maximum within each row's four threads; the sums are still partial.
  l[0] += __shfl_xor_sync(0xffffffffu, l[0], 1);
  l[0] += __shfl_xor_sync(0xffffffffu, l[0], 2);
  l[1] += __shfl_xor_sync(0xffffffffu, l[1], 1);
  l[1] += __shfl_xor_sync(0xffffffffu, l[1], 2);
  if ((lane & 3) == 0) {
    for (int r = 0; r < 2; ++r) {
      const int64_t at = (head * p.chunks + blockIdx.x) * 64 + warp * 16 + g + 8 * r;
      p.part_m[at] = m[r];
      p.part_l[at] = l[r];
    }
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(128) rows_mass(const MassParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ float row_m[64], row_inv[64];
  __shared__ float colsum[64], diagsum[128];
  const int64_t head = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t4 = lane & 3;
  if (tid < 64) {
    float m = -INFINITY;
    for (int c = 0; c < p.chunks; ++c) m = fmaxf(m, p.part_m[(head * p.chunks + c) * 64 + tid]);
    float l = 0.0f;
    for (int c = 0; c < p.chunks; ++c) {
      const int64_t at = (head * p.chunks + c) * 64 + tid;
      if (p.part_l[at] > 0.0f) l += p.part_l[at] * fast_exp2((p.part_m[at] - m) * p.scale_log2);
    }
    row_m[tid] = m == -INFINITY ? 0.0f : m * p.scale_log2;
    row_inv[tid] = l > 0.0f ? 1.0f / l : 0.0f;
    colsum[tid] = 0.0f;
  }
  diagsum[tid] = 0.0f;
  __syncthreads();
  int32_t rows[2];
  float base[2], inv[2];
  for (int r = 0; r < 2; ++r) {
    const int idx = warp * 16 + g + 8 * r;
    const int64_t row = p.row_begin + idx;
    rows[r] = row < p.row_end ? static_cast<int32_t>(row) : -1;
    base[r] = row_m[idx];
    inv[r] = row_inv[idx];
  }
  const int64_t length = p.row_end - p.key_begin;
  const int64_t k_lo = p.key_begin + static_cast<int64_t>(blockIdx.x) * kChunk;
  const int64_t k_hi = min(k_lo + kChunk, p.row_end);
  float* column = p.column + head * length;
  float* diagonal = p.diagonal + head * length;
  for_each_tile<T, D>(p, head, k_lo, k_hi, smem, rows, [&](float (&s)[32], int64_t k0) {
    const int64_t o_min = p.row_begin - (k0 + 63);  // smallest row - key in this tile
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      float col[2] = {0.0f, 0.0f};
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float pv = fast_exp2(s[j * 4 + e] * p.scale_log2 - base[e >> 1]) * inv[e >> 1];
        col[e & 1] += pv;
        if (pv > 0.0f) {
          const int64_t key = k0 + 8 * j + 2 * t4 + (e & 1);
          atomicAdd(&diagsum[rows[e >> 1] - key - o_min], pv);
        }
      }
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        col[c] += __shfl_xor_sync(0xffffffffu, col[c], 4);
        col[c] += __shfl_xor_sync(0xffffffffu, col[c], 8);
        col[c] += __shfl_xor_sync(0xffffffffu, col[c], 16);
      }
      if (g == 0) {
        atomicAdd(&colsum[8 * j + 2 * t4], col[0]);
        atomicAdd(&colsum[8 * j + 2 * t4 + 1], col[1]);
      }
    }
    __syncthreads();
    if (tid < 64) {
      const int64_t key = k0 + tid;
      if (key < k_hi) column[key - p.key_begin] = colsum[tid];
      colsum[tid] = 0.0f;
    }
    const int64_t o = o_min + tid;
    if (tid < 127 && o >= 0 && o < length && diagsum[tid] != 0.0f) atomicAdd(&diagonal[o], diagsum[tid]);
    diagsum[tid] = 0.0f;
  });
}

template <typename T, int D>
void run_mass(MassParams p, int64_t heads, cudaStream_t stream) {
  using L = MassLayout<D>;
  const int64_t pass1_chunks = (p.row_end + kChunk - 1) / kChunk;
  const int64_t pass2_chunks = (p.row_end - p.key_begin + kChunk - 1) / kChunk;
  p.chunks = static_cast<int32_t>(pass1_chunks);
  MMI_CUDA_CHECK(cudaFuncSetAttribute(rows_max_sum<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
  MMI_CUDA_CHECK(cudaFuncSetAttribute(rows_mass<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
  rows_max_sum<T, D><<<dim3(static_cast<unsigned>(pass1_chunks), static_cast<unsigned>(heads)), 128, L::kBytes,
                       stream>>>(p);
  MMI_CUDA_CHECK_LAUNCH("rows_max_sum");
  rows_mass<T, D><<<dim3(static_cast<unsigned>(pass2_chunks), static_cast<unsigned>(heads)), 128, L::kBytes,
                    stream>>>(p);
  MMI_CUDA_CHECK_LAUNCH("rows_mass");
}

template <typename T>
void run_mass_dim(const MassParams& p, int64_t heads, int dim, cudaStream_t stream) {
  switch (dim) {
    case 64:
      return run_mass<T, 64>(p, heads, stream);
    case 80:
      return run_mass<T, 80>(p, heads, stream);
    case 128:
      return run_mass<T, 128>(p, heads, stream);
    default:
      throw Error("estimation: head dim must be 64, 80 or 128");
  }
}

// Scores with the forced entries lifted above every real score, for the descending sort.
__global__ void lift_forced(const float* src, float* dst, int32_t* idx, int64_t length, int64_t heads, int64_t forced) {
  const int64_t total = length * heads;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t pos = i % length;
    dst[i] = pos < forced ? INFINITY : src[i];
    idx[i] = static_cast<int32_t>(pos);
  }
}

// The first `take` indices of each head's sorted row into [heads, width] (-1 padded).
__global__ void gather_top(const int32_t* sorted, int64_t length, int64_t heads, int32_t take, int32_t width,
                           int32_t* out) {
  const int64_t total = static_cast<int64_t>(width) * heads;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = i / width, j = i % width;
    out[i] = j < take ? sorted[h * length + j] : INT_MAX;
  }
}

__global__ void pad_sorted(int32_t* list, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (list[i] == INT_MAX) list[i] = -1;
  }
}

std::vector<int64_t> segment_offsets(int64_t heads, int64_t length) {
  std::vector<int64_t> off(static_cast<size_t>(heads + 1));
  for (int64_t h = 0; h <= heads; ++h) off[static_cast<size_t>(h)] = h * length;
  return off;
}

// Top `budget` positions of each head's scores (forced first `forced` positions), ascending, -1 padded.
DeviceBuffer<int32_t> top_positions(const float* scores, int64_t heads, int64_t length, int64_t forced, int64_t budget,
                                    int32_t width, cudaStream_t stream) {
  const int64_t total = heads * length;
  DeviceBuffer<float> keys(static_cast<size_t>(total)), keys_sorted(static_cast<size_t>(total));
  DeviceBuffer<int32_t> idx(static_cast<size_t>(total)), idx_sorted(static_cast<size_t>(total));
  lift_forced<<<1024, 256, 0, stream>>>(scores, keys.get(), idx.get(), length, heads, forced);
  MMI_CUDA_CHECK_LAUNCH("lift_forced");
  const DeviceBuffer<int64_t> off(segment_offsets(heads, length));
  size_t temp_bytes = 0;
  MMI_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      nullptr, temp_bytes, keys.get(), keys_sorted.get(), idx.get(), idx_sorted.get(), total,
      static_cast<int64_t>(heads), off.get(), off.get() + 1, 0, 32, stream));
  DeviceBuffer<uint8_t> temp(temp_bytes);
  MMI_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      temp.get(), temp_bytes, keys.get(), keys_sorted.get(), idx.get(), idx_sorted.get(), total,
      static_cast<int64_t>(heads), off.get(), off.get() + 1, 0, 32, stream));
  const auto take = static_cast<int32_t>(std::min(budget, length));
  DeviceBuffer<int32_t> picked(static_cast<size_t>(heads) * width), out(static_cast<size_t>(heads) * width);
  gather_top<<<256, 256, 0, stream>>>(idx_sorted.get(), length, heads, take, width, picked.get());
  MMI_CUDA_CHECK_LAUNCH("gather_top");
  const DeviceBuffer<int64_t> off2(segment_offsets(heads, width));
  size_t temp2 = 0;
  MMI_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeys(nullptr, temp2, picked.get(), out.get(),
                                                         static_cast<int64_t>(heads) * width, heads, off2.get(),
                                                         off2.get() + 1, 0, 32, stream));
  DeviceBuffer<uint8_t> t2(temp2);
  MMI_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeys(t2.get(), temp2, picked.get(), out.get(),
                                                         static_cast<int64_t>(heads) * width, heads, off2.get(),
                                                         off2.get() + 1, 0, 32, stream));
  pad_sorted<<<256, 256, 0, stream>>>(out.get(), static_cast<int64_t>(heads) * width);
  MMI_CUDA_CHECK_LAUNCH("pad_sorted");
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

// Grid stride score of candidate `cand` for head blockIdx.y (see kernels/README.md via the CPU core): line excess
// (mass of the top `lines` phases over the run's column mass, minus lines/s) + slash excess (diagonal mass on
// multiples of s, minus their share of diagonals). One CTA per (candidate, head); phase sums in shared memory.
__global__ void grid_scores(const float* column, const float* diagonal, int64_t length, const int64_t* strides,
                            int32_t candidates, int32_t lines, double* scores, float* phase_out, int64_t max_stride) {
  extern __shared__ float phase[];
  const int64_t head = blockIdx.y, ci = blockIdx.x;
  const int64_t s = strides[ci];
  const float* c = column + head * length;
  const float* d = diagonal + head * length;
  for (int64_t r = threadIdx.x; r < s; r += blockDim.x) phase[r] = 0.0f;
  __shared__ double red[4][32];
  __syncthreads();
  double total = 0.0, diag_total = 0.0, diag_periodic = 0.0;
  for (int64_t u = threadIdx.x; u < length; u += blockDim.x) {
    atomicAdd(&phase[u % s], c[u]);
    total += c[u];
    if (u >= 1) {
      diag_total += d[u];
      if (u % s == 0) diag_periodic += d[u];
    }
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  double vals[3] = {total, diag_total, diag_periodic};
  for (int v = 0; v < 3; ++v) {
    for (int o = 16; o > 0; o >>= 1) vals[v] += __shfl_xor_sync(0xffffffffu, vals[v], o);
    if (lane == 0) red[v][warp] = vals[v];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int v = 0; v < 3; ++v) {
      vals[v] = 0.0;
      for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) vals[v] += red[v][w];
    }
    // Top `lines` phases by repeated selection (ties: lower phase).
    const int64_t kept = min(static_cast<int64_t>(lines), s);
    double top = 0.0;
    for (int64_t i = 0; i < kept; ++i) {
      int64_t best = -1;
      for (int64_t r = 0; r < s; ++r) {
        if (phase[r] >= 0.0f && (best < 0 || phase[r] > phase[best])) best = r;
      }
      top += phase[best];
      phase[best] = -1.0f - phase[best];  // taken; restored below
    }
    for (int64_t r = 0; r < s; ++r) {
      if (phase[r] < 0.0f) phase[r] = -1.0f - phase[r];
    }
    const double line = vals[0] > 0.0 && kept > 0 ? top / vals[0] - static_cast<double>(kept) / static_cast<double>(s) : 0.0;
    const int64_t multiples = (length - 1) / s;
    const double slash = vals[1] > 0.0 && length > 1
                             ? vals[2] / vals[1] - static_cast<double>(multiples) / static_cast<double>(length - 1)
                             : 0.0;
    scores[head * candidates + ci] = line + slash;
  }
  __syncthreads();
  if (phase_out) {
    for (int64_t r = threadIdx.x; r < s; r += blockDim.x) phase_out[(head * candidates + ci) * max_stride + r] = phase[r];
  }
}

std::vector<int64_t> candidate_strides(int64_t period, int64_t length) {
  std::vector<int64_t> out;
  for (int64_t s = 2; s <= period; ++s) {
    if (period % s == 0) out.push_back(s);
  }
  for (int64_t m = 2; m <= 4; ++m) out.push_back(period * m);
  out.erase(std::remove_if(out.begin(), out.end(), [&](int64_t s) { return 2 * s > length; }), out.end());
  return out;
}

}  // namespace

RowsMass last_rows_mass(const AttentionShape& shape, const void* q, const void* k, int64_t key_begin, int64_t row_end,
                        Stream stream_handle) {
  validate(shape);
  if (!q || !k) throw Error("estimation: q and k must be device pointers");
  if (key_begin < 0 || row_end > shape.n || key_begin >= row_end) throw Error("estimation: bad key/row range");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  RowsMass out;
  out.heads = shape.heads_q;
  out.length = row_end - key_begin;
  const size_t cells = static_cast<size_t>(shape.heads_q) * static_cast<size_t>(out.length);
  out.column = DeviceBuffer<float>(cells);
  out.diagonal = DeviceBuffer<float>(cells);
  MMI_CUDA_CHECK(cudaMemsetAsync(out.diagonal.get(), 0, cells * sizeof(float), stream));
  const int64_t chunks = (row_end + kChunk - 1) / kChunk;
  DeviceBuffer<float> part_m(static_cast<size_t>(shape.heads_q * chunks * 64)),
      part_l(static_cast<size_t>(shape.heads_q * chunks * 64));
  MassParams p{};
  p.q = q;
  p.k = k;
  p.n = shape.n;
  p.heads_q = shape.heads_q;
  p.group = shape.heads_q / shape.heads_kv;
  const float scale = shape.scale > 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  p.scale_log2 = scale * 1.4426950408889634f;
  p.row_end = row_end;
  p.row_begin = std::max(key_begin, row_end - kEstimateRows);
  p.key_begin = key_begin;
  p.part_m = part_m.get();
  p.part_l = part_l.get();
  p.column = out.column.get();
  p.diagonal = out.diagonal.get();
  if (shape.dtype == DType::bf16) {
    run_mass_dim<__nv_bfloat16>(p, shape.heads_q, shape.head_dim, stream);
  } else {
    run_mass_dim<__half>(p, shape.heads_q, shape.head_dim, stream);
  }
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

VerticalSlashLists select_vertical_slash(const RowsMass& mass, int64_t vertical_budget, int64_t slash_budget,
                                         Stream stream_handle) {
  if (vertical_budget < 0 || slash_budget < 0) throw Error("vertical-slash: budgets must be >= 0");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  VerticalSlashLists out;
  out.heads = mass.heads;
  const int64_t v = std::min(std::max(vertical_budget, std::min(kForcedColumns, mass.length)), mass.length);
  const int64_t s = std::min(std::max(slash_budget, std::min(kForcedSlashes, mass.length)), mass.length);
  out.vertical_width = static_cast<int32_t>(std::max<int64_t>(v, 1));
  out.slash_width = static_cast<int32_t>(std::max<int64_t>(s, 1));
  out.verticals = top_positions(mass.column.get(), mass.heads, mass.length, kForcedColumns, v, out.vertical_width, stream);
  out.slashes = top_positions(mass.diagonal.get(), mass.heads, mass.length, kForcedSlashes, s, out.slash_width, stream);
  return out;
}

DeviceIndex estimate_vertical_slash(const AttentionShape& shape, const void* q, const void* k, int64_t vertical_budget,
                                    int64_t slash_budget, Stream stream) {
  const RowsMass mass = last_rows_mass(shape, q, k, 0, shape.n, stream);
  const VerticalSlashLists lists = select_vertical_slash(mass, vertical_budget, slash_budget, stream);
  return vertical_slash_index(shape.n, shape.heads_q, lists.verticals.get(), lists.vertical_width,
                              lists.slashes.get(), lists.slash_width, stream);
}

std::vector<std::vector<GridRunChoice>> estimate_grid(const AttentionShape& shape, const void* q, const void* k,
                                                      const std::vector<VideoRunSpec>& runs, int64_t lines,
                                                      Stream stream_handle) {
  if (lines < 0) throw Error("grid: lines must be >= 0");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  constexpr double kPriorBonus = 0.02;  // the CPU core's value: the layout's period wins unless clearly beaten
  std::vector<std::vector<GridRunChoice>> out(static_cast<size_t>(shape.heads_q));
  for (const VideoRunSpec& run : runs) {
    if (run.start < 0 || run.length <= 0 || run.start + run.length > shape.n || run.period <= 0) {
      throw Error("grid: bad video run");
    }
    const int64_t heads = shape.heads_q;
    const int64_t prior = std::min(run.period, run.length);
    const std::vector<int64_t> cands = candidate_strides(run.period, run.length);
    std::vector<GridRunChoice> chosen(static_cast<size_t>(heads));
    for (auto& c : chosen) {
      c.start = run.start;
      c.length = run.length;
      c.stride = prior;
    }
    const RowsMass mass = last_rows_mass(shape, q, k, run.start, run.start + run.length, stream_handle);
    if (!cands.empty()) {
      const auto nc = static_cast<int32_t>(cands.size());
      const int64_t max_stride = *std::max_element(cands.begin(), cands.end());
      const DeviceBuffer<int64_t> dstrides(cands);
      DeviceBuffer<double> scores(static_cast<size_t>(heads * nc));
      const size_t smem = static_cast<size_t>(max_stride) * sizeof(float);
      MMI_CUDA_CHECK(cudaFuncSetAttribute(grid_scores, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
      grid_scores<<<dim3(nc, static_cast<unsigned>(heads)), 256, smem, stream>>>(
          mass.column.get(), mass.diagonal.get(), mass.length, dstrides.get(), nc, static_cast<int32_t>(lines),
          scores.get(), nullptr, max_stride);
      MMI_CUDA_CHECK_LAUNCH("grid_scores");
      const std::vector<double> host = scores.download();
      for (int64_t h = 0; h < heads; ++h) {
        double best = -INFINITY;
        int64_t stride = prior;
        for (int32_t ci = 0; ci < nc; ++ci) {
          const int64_t s = cands[static_cast<size_t>(ci)];
          const double score = host[static_cast<size_t>(h * nc + ci)] + (s == run.period ? kPriorBonus : 0.0);
          const double distance = std::abs(std::log(static_cast<double>(s) / static_cast<double>(run.period)));
          const double best_distance = std::abs(std::log(static_cast<double>(stride) / static_cast<double>(run.period)));
          if (score > best || (score == best && distance < best_distance)) {
            best = score;
            stride = s;
          }
        }
        chosen[static_cast<size_t>(h)].stride = stride;
        chosen[static_cast<size_t>(h)].score = best - (stride == run.period ? kPriorBonus : 0.0);
      }
    }
    // Phases of the chosen stride: its phase masses, top `lines` (ties: lower phase), ascending.
    for (int64_t h = 0; h < heads; ++h) {
      GridRunChoice& c = chosen[static_cast<size_t>(h)];
      const int64_t s = c.stride;
      const std::vector<int64_t> one{s};
      const DeviceBuffer<int64_t> dstride(one);
      DeviceBuffer<double> score(1);
      DeviceBuffer<float> phase(static_cast<size_t>(s));
      const size_t smem = static_cast<size_t>(s) * sizeof(float);
      MMI_CUDA_CHECK(cudaFuncSetAttribute(grid_scores, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
      grid_scores<<<dim3(1, 1), 256, smem, stream>>>(mass.column.get() + h * mass.length,
                                                     mass.diagonal.get() + h * mass.length, mass.length, dstride.get(),
                                                     1, static_cast<int32_t>(lines), score.get(), phase.get(), s);
      MMI_CUDA_CHECK_LAUNCH("grid_scores");
      const std::vector<float> pm = phase.download();
      std::vector<int64_t> order(static_cast<size_t>(s));
      for (int64_t r = 0; r < s; ++r) order[static_cast<size_t>(r)] = r;
      const int64_t kept = std::min(lines, s);
      std::partial_sort(order.begin(), order.begin() + kept, order.end(), [&](int64_t a, int64_t b) {
        return pm[static_cast<size_t>(a)] > pm[static_cast<size_t>(b)] ||
               (pm[static_cast<size_t>(a)] == pm[static_cast<size_t>(b)] && a < b);
      });
      c.phases.assign(order.begin(), order.begin() + kept);
      std::sort(c.phases.begin(), c.phases.end());
    }
    for (int64_t h = 0; h < heads; ++h) out[static_cast<size_t>(h)].push_back(chosen[static_cast<size_t>(h)]);
  }
  return out;
}

}  // namespace mmi::cuda
