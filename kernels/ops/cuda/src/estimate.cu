// GPU pattern estimation; see include/mmi/ops/cuda/estimate.hpp. Two passes over the keys with one thread per key
// and the (at most 64) rows' queries in shared memory: the first finds each row's softmax maximum and sum (per
// tile, then merged), the second adds the normalised weights to the key's column (owned by its thread) and to the
// diagonals (shared-memory atomics per tile, then one global atomic per diagonal).
#include <cfloat>
#include <cmath>

#include "mmi/ops/cuda/estimate.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::ops::cuda {

namespace {

constexpr int kMaxRows = 64;
constexpr int kMaxDim = 128;
constexpr int kTile = 256;  // keys per CTA = threads per CTA
constexpr int kWarps = kTile / 32;

struct RowStats {
  float max;
  float sum;
};

// Scores (log2 units) of this thread's key against the rows in shared memory.
__device__ void row_scores(const MassParams& p, const float (*sq)[kMaxDim], int rows, std::int64_t key, int kvh,
                           float (&s)[kMaxRows]) {
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) s[r] = 0.0f;
  const bf16* kr = p.k + kvh * p.k_head + key * p.k_row;
  for (int d0 = 0; d0 < p.head_dim; d0 += 8) {
    const uint4 raw = *reinterpret_cast<const uint4*>(kr + d0);
    const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
    float kv[8];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __bfloat1622float2(pairs[j]);
      kv[2 * j] = f.x;
      kv[2 * j + 1] = f.y;
    }
    // Two 16-byte shared loads per row and 8 dims (the same address for the whole warp: broadcast).
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) {
      if (r < rows) {
        const float4 a = *reinterpret_cast<const float4*>(&sq[r][d0]);
        const float4 b = *reinterpret_cast<const float4*>(&sq[r][d0 + 4]);
        s[r] = fmaf(kv[0], a.x, fmaf(kv[1], a.y, fmaf(kv[2], a.z, fmaf(kv[3], a.w, s[r]))));
        s[r] = fmaf(kv[4], b.x, fmaf(kv[5], b.y, fmaf(kv[6], b.z, fmaf(kv[7], b.w, s[r]))));
      }
    }
  }
  const float sl2 = p.scale * 1.4426950408889634f;
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) s[r] *= sl2;
}

__device__ void load_rows(const MassParams& p, int head, int rows, float (*sq)[kMaxDim]) {
  const bf16* q = p.q + head * p.q_head;
  for (int e = threadIdx.x; e < rows * p.head_dim; e += blockDim.x) {
    const int r = e / p.head_dim, d = e % p.head_dim;
    sq[r][d] = __bfloat162float(q[(p.row_begin + r) * p.q_row + d]);
  }
}

// Pass 1: per tile of keys [0, row_end), each row's maximum and sum of exp2(s - max) over its causal keys.
__global__ void __launch_bounds__(kTile) mass_stats_kernel(const MassParams p, RowStats* partial, int tiles) {
  __shared__ __align__(16) float sq[kMaxRows][kMaxDim];
  __shared__ float red[kWarps][kMaxRows];
  __shared__ float tile_max[kMaxRows];
  const int i = blockIdx.y;
  const int head = p.heads[i];
  const int rows = static_cast<int>(p.row_end - p.row_begin);
  load_rows(p, head, rows, sq);
  __syncthreads();
  const std::int64_t key = static_cast<std::int64_t>(blockIdx.x) * kTile + threadIdx.x;
  float s[kMaxRows] = {};
  const bool in_range = key < p.row_end;
  if (in_range) row_scores(p, sq, rows, key, head / p.group, s);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) {
    const bool valid = in_range && r < rows && key <= p.row_begin + r;
    float v = valid ? s[r] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) red[warp][r] = v;
  }
  __syncthreads();
  if (threadIdx.x < kMaxRows) {
    float v = -INFINITY;
    for (int w = 0; w < kWarps; ++w) v = fmaxf(v, red[w][threadIdx.x]);
    tile_max[threadIdx.x] = v;
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) {
    const bool valid = in_range && r < rows && key <= p.row_begin + r;
    float v = valid ? exp2f(s[r] - tile_max[r]) : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) red[warp][r] = v;
  }
  __syncthreads();
  if (threadIdx.x < rows) {
    float v = 0.0f;
    for (int w = 0; w < kWarps; ++w) v += red[w][threadIdx.x];
    partial[(static_cast<std::int64_t>(i) * kMaxRows + threadIdx.x) * tiles + blockIdx.x] = {tile_max[threadIdx.x], v};
  }
}

__global__ void mass_merge_kernel(const RowStats* partial, int tiles, int rows, RowStats* stats) {
  const int i = blockIdx.x, r = threadIdx.x;
  if (r >= rows) return;
  const RowStats* in = partial + (static_cast<std::int64_t>(i) * kMaxRows + r) * tiles;
  float mx = -INFINITY;
  for (int t = 0; t < tiles; ++t) mx = fmaxf(mx, in[t].max);
  float sum = 0.0f;
  for (int t = 0; t < tiles; ++t) {
    if (in[t].sum > 0.0f) sum += in[t].sum * exp2f(in[t].max - mx);
  }
  stats[static_cast<std::int64_t>(i) * kMaxRows + r] = {mx, sum};
}

// Pass 2: normalised weights over keys [key_begin, key_end) into columns and diagonals.
__global__ void __launch_bounds__(kTile) mass_accumulate_kernel(const MassParams p, const RowStats* stats) {
  __shared__ __align__(16) float sq[kMaxRows][kMaxDim];
  __shared__ float diag[kTile + kMaxRows];
  __shared__ RowStats st[kMaxRows];
  const int i = blockIdx.y;
  const int head = p.heads[i];
  const int rows = static_cast<int>(p.row_end - p.row_begin);
  load_rows(p, head, rows, sq);
  if (threadIdx.x < kMaxRows) st[threadIdx.x] = stats[static_cast<std::int64_t>(i) * kMaxRows + threadIdx.x];
  for (int e = threadIdx.x; e < kTile + kMaxRows; e += blockDim.x) diag[e] = 0.0f;
  __syncthreads();
  const std::int64_t tile0 = p.key_begin + static_cast<std::int64_t>(blockIdx.x) * kTile;
  const std::int64_t key = tile0 + threadIdx.x;
  // Diagonal offset row - key, shifted so the tile's smallest one (row_begin - (tile0 + kTile - 1)) is slot 0.
  const std::int64_t diag0 = p.row_begin - (tile0 + kTile - 1);
  if (key < p.key_end && key < p.row_end) {
    float s[kMaxRows];
    row_scores(p, sq, rows, key, head / p.group, s);
    float column = 0.0f;
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) {
      if (r < rows && key <= p.row_begin + r && st[r].sum > 0.0f) {
        const float w = exp2f(s[r] - st[r].max) / st[r].sum;
        column += w;
        if (p.diagonal) atomicAdd(&diag[p.row_begin + r - key - diag0], w);
      }
    }
    if (p.column) p.column[static_cast<std::int64_t>(i) * (p.key_end - p.key_begin) + (key - p.key_begin)] = column;
  } else if (key < p.key_end && p.column) {
    p.column[static_cast<std::int64_t>(i) * (p.key_end - p.key_begin) + (key - p.key_begin)] = 0.0f;
  }
  if (!p.diagonal) return;
  __syncthreads();
  for (int e = threadIdx.x; e < kTile + kMaxRows; e += blockDim.x) {
    const std::int64_t offset = diag0 + e;
    if (diag[e] != 0.0f && offset >= 0 && offset < p.diag_len) {
      atomicAdd(&p.diagonal[static_cast<std::int64_t>(i) * p.diag_len + offset], diag[e]);
    }
  }
}

// Orderable key of a float (ascending unsigned order = ascending float order).
__device__ __forceinline__ std::uint32_t order_key(float x) {
  const std::uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Exclusive prefix sum over the block of one value per thread; *total receives the sum. scratch: 32 ints.
__device__ int block_exclusive_scan(int v, int* scratch, int* total) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  int inc = v;
  for (int o = 1; o < 32; o <<= 1) {
    const int n = __shfl_up_sync(0xffffffffu, inc, o);
    if (lane >= o) inc += n;
  }
  if (lane == 31) scratch[warp] = inc;
  __syncthreads();
  if (warp == 0) {
    int w = lane < warps ? scratch[lane] : 0;
    for (int o = 1; o < 32; o <<= 1) {
      const int n = __shfl_up_sync(0xffffffffu, w, o);
      if (lane >= o) w += n;
    }
    if (lane < warps) scratch[lane] = w;
  }
  __syncthreads();
  const int before = warp > 0 ? scratch[warp - 1] : 0;
  *total = scratch[warps - 1];
  __syncthreads();
  return before + inc - v;
}

// One block per row: radix select (four passes of 8 bits) finds the k-th largest key, then an ordered compaction
// writes every larger key's index and the lowest-index equals, ascending.
__global__ void __launch_bounds__(1024) top_k_kernel(const float* scores, std::int64_t len, std::int64_t forced,
                                                     std::int64_t k, std::int32_t* out, std::int64_t out_width) {
  __shared__ unsigned hist[256];
  __shared__ std::uint32_t prefix_s, mask_s;
  __shared__ std::int64_t remaining_s;
  __shared__ int scratch[32];
  const float* x = scores + static_cast<std::int64_t>(blockIdx.x) * len;
  std::int32_t* o = out + static_cast<std::int64_t>(blockIdx.x) * out_width;
  const std::int64_t f = forced < len ? forced : len;
  std::int64_t kk = k > f ? k : f;
  if (kk > len) kk = len;
  auto key_of = [&](std::int64_t i) { return i < f ? 0xFFFFFFFFu : order_key(x[i]); };

  if (threadIdx.x == 0) {
    prefix_s = 0;
    mask_s = 0;
    remaining_s = kk;
  }
  __syncthreads();
  for (int shift = 24; shift >= 0 && kk > 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    const std::uint32_t prefix = prefix_s, mask = mask_s;
    for (std::int64_t i = threadIdx.x; i < len; i += blockDim.x) {
      const std::uint32_t u = key_of(i);
      if ((u & mask) == prefix) atomicAdd(&hist[(u >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      std::int64_t above = 0;
      for (int b = 255; b >= 0; --b) {
        if (above + hist[b] >= remaining_s) {
          prefix_s |= static_cast<std::uint32_t>(b) << shift;
          remaining_s -= above;
          break;
        }
        above += hist[b];
      }
      mask_s |= 255u << shift;
    }
    __syncthreads();
  }
  const std::uint32_t threshold = prefix_s;
  const std::int64_t take_equal = kk > 0 ? remaining_s : 0;
  std::int64_t written = 0, equal_seen = 0;
  for (std::int64_t base = 0; base < len && kk > 0; base += blockDim.x) {
    const std::int64_t i = base + threadIdx.x;
    const std::uint32_t u = i < len ? key_of(i) : 0u;
    const bool greater = i < len && u > threshold;
    const bool equal = i < len && u == threshold;
    int equal_total = 0, chosen_total = 0;
    const int equal_rank = block_exclusive_scan(equal ? 1 : 0, scratch, &equal_total);
    const bool chosen = greater || (equal && equal_seen + equal_rank < take_equal);
    const int pos = block_exclusive_scan(chosen ? 1 : 0, scratch, &chosen_total);
    if (chosen) o[written + pos] = static_cast<std::int32_t>(i);
    written += chosen_total;
    equal_seen += equal_total;
  }
  for (std::int64_t j = kk + threadIdx.x; j < out_width; j += blockDim.x) o[j] = -1;
}

}  // namespace

std::size_t mass_workspace_bytes(int count, std::int64_t row_end) {
  const std::int64_t tiles = (row_end + kTile - 1) / kTile;
  return sizeof(RowStats) * static_cast<std::size_t>(count) * kMaxRows * static_cast<std::size_t>(tiles + 1);
}

void attention_mass(const MassParams& p, void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  using runtime::Error;
  using runtime::ErrorCode;
  const std::int64_t rows = p.row_end - p.row_begin;
  if (p.count <= 0 || rows <= 0) return;
  if (rows > kMaxRows || p.row_begin < 0) throw Error(ErrorCode::Internal, "", "attention_mass", "1..64 rows");
  if (p.head_dim % 8 != 0 || p.head_dim > kMaxDim || p.k_row % 8 != 0 || p.k_head % 8 != 0) {
    throw Error(ErrorCode::Internal, "", "attention_mass", "head dim / strides");
  }
  if (p.key_begin < 0 || p.key_end > p.row_end || p.key_begin >= p.key_end) {
    throw Error(ErrorCode::Internal, "", "attention_mass", "keys must lie in [0, row_end)");
  }
  if (workspace_bytes < mass_workspace_bytes(p.count, p.row_end)) {
    throw Error(ErrorCode::Internal, "", "attention_mass", "workspace too small");
  }
  const int tiles = static_cast<int>((p.row_end + kTile - 1) / kTile);
  auto* partial = static_cast<RowStats*>(workspace);
  RowStats* stats = partial + static_cast<std::int64_t>(p.count) * kMaxRows * tiles;
  mass_stats_kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(p.count)), kTile, 0, stream>>>(p, partial,
                                                                                                          tiles);
  MMI_GPU_CHECK_LAUNCH("attention_mass stats");
  mass_merge_kernel<<<static_cast<unsigned>(p.count), kMaxRows, 0, stream>>>(partial, tiles, static_cast<int>(rows), stats);
  MMI_GPU_CHECK_LAUNCH("attention_mass merge");
  if (p.diagonal) {
    MMI_GPU_CHECK(cudaMemsetAsync(p.diagonal, 0, sizeof(float) * static_cast<std::size_t>(p.count * p.diag_len), stream));
  }
  const int key_tiles = static_cast<int>((p.key_end - p.key_begin + kTile - 1) / kTile);
  mass_accumulate_kernel<<<dim3(static_cast<unsigned>(key_tiles), static_cast<unsigned>(p.count)), kTile, 0, stream>>>(
      p, stats);
  MMI_GPU_CHECK_LAUNCH("attention_mass accumulate");
}

void top_k_ascending(const float* scores, int rows, std::int64_t len, std::int64_t forced, std::int64_t k,
                     std::int32_t* out, std::int64_t out_width, cudaStream_t stream) {
  if (rows <= 0) return;
  top_k_kernel<<<static_cast<unsigned>(rows), 1024, 0, stream>>>(scores, len, forced, k, out, out_width);
  MMI_GPU_CHECK_LAUNCH("top_k_ascending");
}

}  // namespace mmi::ops::cuda
