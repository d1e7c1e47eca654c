// GPU estimation: the last rows' attention mass (tensor cores, two passes: row max/sum, then normalised mass per
// column and per diagonal), vertical-slash selection (segmented radix sorts), grid stride scoring.
#include "mmi/cuda/estimate.hpp"
#include "mmi/cuda/index_build.hpp"

#include "estimate_internal.hpp"
#include "select.cuh"

#include <cuda_runtime.h>


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
using detail::block_prefix;

constexpr int kChunk = 4096;  // keys per CTA

struct MassParams {
  const void* q;
  const void* k;
  int64_t n;
  int32_t heads_q, group;
  float scale_log2;
  int64_t row_begin, row_end, key_begin;
  const int32_t* rows;  // when set: the 64 rows' original positions (-1: no row) instead of [row_begin, row_end)
  int32_t head_offset;  // q head read = blockIdx.y + head_offset (partials and outputs are indexed by blockIdx.y)
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
    const int64_t row = p.rows ? p.rows[r] : p.row_begin + r;
    const bool ok = p.rows ? row >= 0 : row < p.row_end;
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
    const int idx = warp * 16 + g + 8 * r;
    const int64_t row = p.row_begin + idx;
    rows[r] = p.rows ? p.rows[idx] : row < p.row_end ? static_cast<int32_t>(row) : -1;
  }
  const int64_t k_lo = static_cast<int64_t>(blockIdx.x) * kChunk;
  const int64_t k_hi = min(k_lo + kChunk, p.row_end);
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  for_each_tile<T, D>(p, head + p.head_offset, k_lo, k_hi, smem, rows, [&](float (&s)[32], int64_t) {
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

// Pass 2 for given rows: each row's softmax probabilities over keys [0, row_end), written to
// prob[blockIdx.y][row][key_inverse ? key_inverse[key] : key] (row stride n).
template <typename T, int D>
__global__ void __launch_bounds__(128) rows_probabilities(const MassParams p, const int32_t* key_inverse, float* prob) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ float row_m[64], row_inv[64];
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
  }
  __syncthreads();
  int32_t rows[2];
  float base[2], inv[2];
  int idxs[2];
  for (int r = 0; r < 2; ++r) {
    idxs[r] = warp * 16 + g + 8 * r;
    rows[r] = p.rows[idxs[r]];
    base[r] = row_m[idxs[r]];
    inv[r] = row_inv[idxs[r]];
  }
  const int64_t k_lo = static_cast<int64_t>(blockIdx.x) * kChunk;
  const int64_t k_hi = min(k_lo + kChunk, p.row_end);
  float* out = prob + head * 64 * p.n;
  for_each_tile<T, D>(p, head + p.head_offset, k_lo, k_hi, smem, rows, [&](float (&s)[32], int64_t k0) {
#pragma unroll
    for (int j = 0; j < 8; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = k0 + 8 * j + 2 * t4 + (e & 1);
        if (key >= k_hi) continue;
        const float pv = fast_exp2(s[j * 4 + e] * p.scale_log2 - base[e >> 1]) * inv[e >> 1];
        const int64_t c = key_inverse ? key_inverse[key] : key;
        out[idxs[e >> 1] * p.n + c] = pv;
      }
    }
  });
}

// Pass 1, then pass 2: the mass per column and diagonal, or (prob set) the probabilities of given rows.
template <typename T, int D>
void run_mass(MassParams p, int64_t heads, const int32_t* key_inverse, float* prob, cudaStream_t stream) {
  using L = MassLayout<D>;
  const int64_t pass1_chunks = (p.row_end + kChunk - 1) / kChunk;
  const int64_t pass2_chunks = (p.row_end - p.key_begin + kChunk - 1) / kChunk;
  p.chunks = static_cast<int32_t>(pass1_chunks);
  MMI_CUDA_CHECK(cudaFuncSetAttribute(rows_max_sum<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
  rows_max_sum<T, D><<<dim3(static_cast<unsigned>(pass1_chunks), static_cast<unsigned>(heads)), 128, L::kBytes,
                       stream>>>(p);
  MMI_CUDA_CHECK_LAUNCH("rows_max_sum");
  if (prob) {
    MMI_CUDA_CHECK(
        cudaFuncSetAttribute(rows_probabilities<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
    rows_probabilities<T, D><<<dim3(static_cast<unsigned>(pass2_chunks), static_cast<unsigned>(heads)), 128, L::kBytes,
                               stream>>>(p, key_inverse, prob);
    MMI_CUDA_CHECK_LAUNCH("rows_probabilities");
    return;
  }
  MMI_CUDA_CHECK(cudaFuncSetAttribute(rows_mass<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
  rows_mass<T, D><<<dim3(static_cast<unsigned>(pass2_chunks), static_cast<unsigned>(heads)), 128, L::kBytes,
                    stream>>>(p);
  MMI_CUDA_CHECK_LAUNCH("rows_mass");
}

template <typename T>
void run_mass_dim(const MassParams& p, int64_t heads, int dim, const int32_t* key_inverse, float* prob,
                  cudaStream_t stream) {
  switch (dim) {
    case 64:
      return run_mass<T, 64>(p, heads, key_inverse, prob, stream);
    case 80:
      return run_mass<T, 80>(p, heads, key_inverse, prob, stream);
    case 128:
      return run_mass<T, 128>(p, heads, key_inverse, prob, stream);
    default:
      throw Error("estimation: head dim must be 64, 80 or 128");
  }
}

void dispatch_mass(const MassParams& p, const AttentionShape& shape, int64_t heads, const int32_t* key_inverse,
                   float* prob, cudaStream_t stream) {
  if (shape.dtype == DType::bf16) {
    run_mass_dim<__nv_bfloat16>(p, heads, shape.head_dim, key_inverse, prob, stream);
  } else {
    run_mass_dim<__half>(p, heads, shape.head_dim, key_inverse, prob, stream);
  }
}

float scale_log2_of(const AttentionShape& shape) {
  const float scale = shape.scale > 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  return scale * 1.4426950408889634f;
}

// Top-k per head by radix select (one CTA per head): the k-th largest key in four 8-bit passes, then the selected
// positions written in ascending order by a block-wide ordered compaction; among keys equal to the threshold the
// lowest positions win (the CPU core's tie rule). Forced positions get the largest key.
constexpr int kSelectThreads = 1024;

__device__ __forceinline__ uint32_t select_key(const float* scores, int64_t i, int64_t forced) {
  return i < forced ? 0xFFFFFFFFu : __float_as_uint(fmaxf(scores[i], 0.0f));
}

__global__ void __launch_bounds__(kSelectThreads) top_k_select(const float* all_scores, int64_t length, int64_t stride,
                                                              int64_t forced, int64_t k, int32_t width, int32_t offset,
                                                              int32_t* out) {
  __shared__ int hist[256];
  __shared__ int warp_sums[33];
  __shared__ uint32_t s_prefix;
  __shared__ int64_t s_remaining;
  const int64_t head = blockIdx.x;
  const float* scores = all_scores + head * stride;
  int32_t* dst = out + head * width;
  uint32_t prefix = 0, mask = 0;
  int64_t remaining = k;  // how many of the keys matching the prefix are still to take
  for (int shift = 24; shift >= 0 && k > 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    // Masses share their top bytes: a warp adds its equal bins once (__match_any_sync), not key by key.
    for (int64_t base = 0; base < length; base += blockDim.x) {
      const int64_t i = base + threadIdx.x;
      const uint32_t key = i < length ? select_key(scores, i, forced) : 0u;
      const bool counted = i < length && (key & mask) == prefix;
      const int bin = counted ? static_cast<int>((key >> shift) & 0xFF) : -1;
      const uint32_t same = __match_any_sync(0xffffffffu, bin);
      if (counted && (threadIdx.x & 31) == __ffs(same) - 1) atomicAdd(&hist[bin], __popc(same));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int64_t above = 0;
      int b = 255;
      for (; b > 0; --b) {
        if (above + hist[b] >= remaining) break;
        above += hist[b];
      }
      s_prefix = prefix | (static_cast<uint32_t>(b) << shift);
      s_remaining = remaining - above;
    }
    __syncthreads();
    prefix = s_prefix;
    remaining = s_remaining;
    mask |= 0xFFu << shift;
    __syncthreads();
  }
  // prefix is now the threshold key T; take every key > T and the first `remaining` keys == T.
  int64_t written = 0, equal_seen = 0;
  for (int64_t base = 0; base < length && k > 0; base += blockDim.x) {
    const int64_t i = base + threadIdx.x;
    const uint32_t key = i < length ? select_key(scores, i, forced) : 0u;
    const bool valid = i < length;
    const bool eq = valid && key == prefix;
    int eq_total = 0;
    const int eq_rank = block_prefix(eq, warp_sums, eq_total);
    const bool take = valid && (key > prefix || (eq && equal_seen + eq_rank < remaining));
    int take_total = 0;
    const int pos = block_prefix(take, warp_sums, take_total);
    if (take && written + pos < width) dst[written + pos] = static_cast<int32_t>(i) + offset;
    written += take_total;
    equal_seen += eq_total;
  }
  for (int64_t j = (k > 0 ? written : 0) + threadIdx.x; j < width; j += blockDim.x) dst[j] = -1;
}


// Grid stride score of candidate blockIdx.x for head blockIdx.y (the CPU core's definition, kernels/cpu/src/grid.cpp):
// line excess (mass of the top `lines` phases over the run's column mass, minus lines/s) + slash excess (diagonal
// mass on multiples of s over all diagonal mass, minus their share of diagonals). Phase sums by one thread per phase
// (coalesced, no atomics); `phase_out`, when given, receives them.
__global__ void grid_scores(const float* column, const float* diagonal, int64_t length, const int64_t* strides,
                            int32_t candidates, int32_t lines, double* scores, float* phase_out, int64_t max_stride) {
  extern __shared__ float phase[];
  __shared__ double red[3][32];
  const int64_t head = blockIdx.y, ci = blockIdx.x;
  const int64_t s = strides[head * candidates + ci];
  const float* c = column + head * length;
  const float* d = diagonal + head * length;
  double total = 0.0, diag_total = 0.0, diag_periodic = 0.0;
  for (int64_t r = threadIdx.x; r < s; r += blockDim.x) {
    float m = 0.0f;
    for (int64_t u = r; u < length; u += s) m += c[u];
    phase[r] = m;
    total += m;
  }
  for (int64_t o = 1 + threadIdx.x; o < length; o += blockDim.x) diag_total += d[o];
  for (int64_t o = s * (1 + threadIdx.x); o < length; o += s * blockDim.x) diag_periodic += d[o];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  double vals[3] = {total, diag_total, diag_periodic};
  for (int v = 0; v < 3; ++v) {
    for (int o = 16; o > 0; o >>= 1) vals[v] += __shfl_xor_sync(0xffffffffu, vals[v], o);
    if (lane == 0) red[v][warp] = vals[v];
  }
  __syncthreads();
  if (phase_out) {
    for (int64_t r = threadIdx.x; r < s; r += blockDim.x) phase_out[(head * candidates + ci) * max_stride + r] = phase[r];
  }
  __syncthreads();  // the selection below marks phases in place
  if (threadIdx.x == 0) {
    for (int v = 0; v < 3; ++v) {
      vals[v] = 0.0;
      for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) vals[v] += red[v][w];
    }
    // Top `lines` phases by repeated selection (ties: lower phase); taken entries are marked negative.
    const int64_t kept = min(static_cast<int64_t>(lines), s);
    double top = 0.0;
    for (int64_t i = 0; i < kept; ++i) {
      int64_t best = -1;
      for (int64_t r = 0; r < s; ++r) {
        if (phase[r] >= 0.0f && (best < 0 || phase[r] > phase[best])) best = r;
      }
      if (best < 0) break;  // no phase left that is a number (a NaN mass is never taken)
      top += phase[best];
      phase[best] = -1.0f - phase[best];
    }
    const double line =
        vals[0] > 0.0 && kept > 0 ? top / vals[0] - static_cast<double>(kept) / static_cast<double>(s) : 0.0;
    const int64_t multiples = (length - 1) / s;
    const double slash = vals[1] > 0.0 && length > 1
                             ? vals[2] / vals[1] - static_cast<double>(multiples) / static_cast<double>(length - 1)
                             : 0.0;
    scores[head * candidates + ci] = line + slash;
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
  p.scale_log2 = scale_log2_of(shape);
  p.row_end = row_end;
  p.row_begin = std::max(key_begin, row_end - kEstimateRows);
  p.key_begin = key_begin;
  p.part_m = part_m.get();
  p.part_l = part_l.get();
  p.column = out.column.get();
  p.diagonal = out.diagonal.get();
  dispatch_mass(p, shape, shape.heads_q, nullptr, nullptr, stream);
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

namespace detail {

DeviceBuffer<int32_t> top_positions(const float* scores, int64_t heads, int64_t length, int64_t stride, int64_t forced,
                                    int64_t budget, int32_t width, int32_t base, cudaStream_t stream) {
  DeviceBuffer<int32_t> out(static_cast<size_t>(heads) * width);
  const int64_t k = std::min(budget, length);
  top_k_select<<<static_cast<unsigned>(heads), kSelectThreads, 0, stream>>>(scores, length, stride, forced, k, width,
                                                                            base, out.get());
  MMI_CUDA_CHECK_LAUNCH("top_k_select");
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

void rows_probabilities(const AttentionShape& shape, const void* q, const void* k, const int32_t* rows,
                        int64_t row_end, int32_t first_head, int32_t heads, const int32_t* key_inverse, float* prob,
                        cudaStream_t stream) {
  const int64_t chunks = (row_end + kChunk - 1) / kChunk;
  DeviceBuffer<float> part_m(static_cast<size_t>(heads * chunks * 64)), part_l(static_cast<size_t>(heads * chunks * 64));
  MassParams p{};
  p.q = q;
  p.k = k;
  p.n = shape.n;
  p.heads_q = shape.heads_q;
  p.group = shape.heads_q / shape.heads_kv;
  p.scale_log2 = scale_log2_of(shape);
  p.row_begin = 0;
  p.row_end = row_end;
  p.key_begin = 0;
  p.rows = rows;
  p.head_offset = first_head;
  p.part_m = part_m.get();
  p.part_l = part_l.get();
  dispatch_mass(p, shape, heads, key_inverse, prob, stream);
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace detail

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
  out.verticals = detail::top_positions(mass.column.get(), mass.heads, mass.length, mass.length, kForcedColumns, v,
                                        out.vertical_width, 0, stream);
  out.slashes = detail::top_positions(mass.diagonal.get(), mass.heads, mass.length, mass.length, kForcedSlashes, s,
                                      out.slash_width, 0, stream);
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
  if (lines < 0 || lines > kMaxGridLines) {
    throw Error("grid: lines must be in [0, " + std::to_string(kMaxGridLines) +
                "] (the phase lines the GPU grid index keeps per video run), got " + std::to_string(lines));
  }
  if (static_cast<int64_t>(runs.size()) > kMaxGridRuns) {
    throw Error("grid: at most " + std::to_string(kMaxGridRuns) + " video runs (what the GPU grid index keeps), got " +
                    std::to_string(runs.size()));
  }
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  // One phase mass per stride candidate in shared memory: the largest candidate (4 periods) must fit.
  int device = 0, optin = 0;
  MMI_CUDA_CHECK(cudaGetDevice(&device));
  MMI_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const size_t smem_limit = static_cast<size_t>(optin) - sizeof(double) * 3 * 32;
  constexpr double kPriorBonus = 0.02;  // the CPU core's value: the layout's period wins unless clearly beaten
  std::vector<std::vector<GridRunChoice>> out(static_cast<size_t>(shape.heads_q));
  for (const VideoRunSpec& run : runs) {
    if (run.start < 0 || run.length <= 0 || run.start + run.length > shape.n || run.period <= 0) {
      throw Error("grid: bad video run");
    }
    if (static_cast<size_t>(std::min(4 * run.period, run.length)) * sizeof(float) > smem_limit) {
      throw Error("grid: a video run's period of " + std::to_string(run.period) +
                      " tokens is too long for the GPU grid estimation (its phase masses must fit in shared memory)");
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
      std::vector<int64_t> per_head(static_cast<size_t>(heads * nc));
      for (int64_t h = 0; h < heads; ++h) std::copy(cands.begin(), cands.end(), per_head.begin() + h * nc);
      const DeviceBuffer<int64_t> dstrides(per_head, stream_handle);
      DeviceBuffer<double> scores(static_cast<size_t>(heads * nc));
      const size_t smem = static_cast<size_t>(max_stride) * sizeof(float);
      MMI_CUDA_CHECK(cudaFuncSetAttribute(grid_scores, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
      grid_scores<<<dim3(nc, static_cast<unsigned>(heads)), 256, smem, stream>>>(
          mass.column.get(), mass.diagonal.get(), mass.length, dstrides.get(), nc, static_cast<int32_t>(lines),
          scores.get(), nullptr, max_stride);
      MMI_CUDA_CHECK_LAUNCH("grid_scores");
      const std::vector<double> host = scores.download(stream_handle);
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
    // Phases of each head's chosen stride: its phase masses, top `lines` (ties: lower phase), ascending.
    {
      std::vector<int64_t> strides(static_cast<size_t>(heads));
      int64_t max_stride = 1;
      for (int64_t h = 0; h < heads; ++h) {
        strides[static_cast<size_t>(h)] = chosen[static_cast<size_t>(h)].stride;
        max_stride = std::max(max_stride, strides[static_cast<size_t>(h)]);
      }
      const DeviceBuffer<int64_t> dstrides(strides, stream_handle);
      DeviceBuffer<double> score(static_cast<size_t>(heads));
      DeviceBuffer<float> phase(static_cast<size_t>(heads * max_stride));
      const size_t smem = static_cast<size_t>(max_stride) * sizeof(float);
      MMI_CUDA_CHECK(cudaFuncSetAttribute(grid_scores, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
      grid_scores<<<dim3(1, static_cast<unsigned>(heads)), 256, smem, stream>>>(
          mass.column.get(), mass.diagonal.get(), mass.length, dstrides.get(), 1, static_cast<int32_t>(lines),
          score.get(), phase.get(), max_stride);
      MMI_CUDA_CHECK_LAUNCH("grid_scores");
      const std::vector<float> pm_all = phase.download(stream_handle);
      for (int64_t h = 0; h < heads; ++h) {
        GridRunChoice& c = chosen[static_cast<size_t>(h)];
        const float* pm = pm_all.data() + h * max_stride;
        std::vector<int64_t> order(static_cast<size_t>(c.stride));
        for (int64_t r = 0; r < c.stride; ++r) order[static_cast<size_t>(r)] = r;
        const int64_t kept = std::min(lines, c.stride);
        std::partial_sort(order.begin(), order.begin() + kept, order.end(), [&](int64_t a, int64_t b) {
          return pm[a] > pm[b] || (pm[a] == pm[b] && a < b);
        });
        c.phases.assign(order.begin(), order.begin() + kept);
        std::sort(c.phases.begin(), c.phases.end());
      }
    }
    for (int64_t h = 0; h < heads; ++h) out[static_cast<size_t>(h)].push_back(chosen[static_cast<size_t>(h)]);
  }
  return out;
}

}  // namespace mmi::cuda
