// One query per head over a long KV cache (decoding); see include/mmi/ops/cuda/attention.hpp. The keys are split
// into chunks of 256, one CTA per (chunk, kv head) computing all query heads of the group so each key and value
// row is read once; a second kernel merges the chunks' partial softmax states. Memory-bound by design.
#include <cmath>
#include <string>

#include "mmi/ops/cuda/attention.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::ops::cuda {

namespace {

constexpr int kChunk = 256;
constexpr int kMaxGroup = 8;
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kUnroll = 4;  // key rows loaded ahead per lane

std::int64_t splits_for(std::int64_t length) { return (length + kChunk - 1) / kChunk; }

__device__ __forceinline__ void load8(const bf16* src, float (&dst)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(src);
  const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float2 f = __bfloat1622float2(pairs[j]);
    dst[2 * j] = f.x;
    dst[2 * j + 1] = f.y;
  }
}

// Lanes per key: each lane takes 8 dims of a key row (16 bytes).
template <int HD>
__host__ __device__ constexpr int lanes_per_key() {
  return HD <= 16 ? 2 : HD <= 32 ? 4 : HD <= 64 ? 8 : 16;
}

template <int HD>
__global__ void __launch_bounds__(kThreads) decode_split_kernel(const DecodeParams p, std::int64_t splits,
                                                                float* part_o, float* part_ml) {
  constexpr int LPK = lanes_per_key<HD>();
  constexpr int KPW = 32 / LPK;  // keys per warp step
  __shared__ float sq[kMaxGroup][HD];
  __shared__ float sp[kMaxGroup][kChunk];
  __shared__ float so[kWarps][kMaxGroup][HD];

  const std::int64_t split = blockIdx.x;
  const int kvh = blockIdx.y;
  const int G = p.group;
  const std::int64_t k0 = split * kChunk;
  const int count = static_cast<int>(min(static_cast<std::int64_t>(kChunk), p.length - k0));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int sub = lane % LPK, slot = lane / LPK;
  const bool active = sub * 8 < HD;
  const float sl2 = p.scale * 1.4426950408889634f;

  for (int e = threadIdx.x; e < G * HD; e += kThreads) {
    sq[e / HD][e % HD] = __bfloat162float(p.q[(static_cast<std::int64_t>(kvh) * G + e / HD) * HD + e % HD]);
  }
  __syncthreads();

  const bf16* kb = p.k + kvh * p.kv_head;
  const bf16* vb = p.v + kvh * p.kv_head;
  // Scores (log2 units) of every key of the chunk for every head of the group; kUnroll keys' rows are loaded
  // before any is used, so each lane keeps several loads in flight.
  constexpr int kStep = kWarps * KPW;
  for (int base = warp * KPW; base < count; base += kStep * kUnroll) {
    float kv[kUnroll][8];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kStep + slot;
#pragma unroll
      for (int i = 0; i < 8; ++i) kv[u][i] = 0.0f;
      if (j < count && active) load8(kb + (k0 + j) * HD + sub * 8, kv[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kStep + slot;
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g >= G) break;
        float d = 0.0f;
        if (active) {
#pragma unroll
          for (int i = 0; i < 8; ++i) d = fmaf(kv[u][i], sq[g][sub * 8 + i], d);
        }
#pragma unroll
        for (int o = LPK / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
        if (sub == 0 && j < count) sp[g][j] = d * sl2;
      }
    }
  }
  __syncthreads();

  // Per head: the chunk's maximum and the unnormalised probabilities.
  for (int g = warp; g < G; g += kWarps) {
    float mx = -INFINITY;
    for (int j = lane; j < count; j += 32) mx = fmaxf(mx, sp[g][j]);
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.0f;
    for (int j = lane; j < count; j += 32) {
      const float e = exp2f(sp[g][j] - mx);
      sp[g][j] = e;
      sum += e;
    }
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) {
      const std::int64_t at = (static_cast<std::int64_t>(kvh) * G + g) * splits + split;
      part_ml[2 * at] = mx;
      part_ml[2 * at + 1] = sum;
    }
  }
  __syncthreads();

  float acc[kMaxGroup][8];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
  }
  for (int base = warp * KPW; base < count; base += kStep * kUnroll) {
    float vv[kUnroll][8];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kStep + slot;
#pragma unroll
      for (int i = 0; i < 8; ++i) vv[u][i] = 0.0f;
      if (j < count && active) load8(vb + (k0 + j) * HD + sub * 8, vv[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kStep + slot;
      if (j >= count) continue;
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g >= G) break;
        const float pg = sp[g][j];
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] = fmaf(pg, vv[u][i], acc[g][i]);
      }
    }
  }
  // Sum over the key slots of the warp (lanes with the same sub), then over the warps.
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g >= G) break;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
      for (int o = LPK; o < 32; o <<= 1) acc[g][i] += __shfl_xor_sync(0xffffffffu, acc[g][i], o);
    }
    if (slot == 0 && active) {
#pragma unroll
      for (int i = 0; i < 8; ++i) so[warp][g][sub * 8 + i] = acc[g][i];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < G * HD; e += kThreads) {
    const int g = e / HD, d = e % HD;
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += so[w][g][d];
    part_o[((static_cast<std::int64_t>(kvh) * G + g) * splits + split) * HD + d] = total;
  }
}

__global__ void decode_merge_kernel(std::int64_t splits, int head_dim, const float* part_o, const float* part_ml,
                                    bf16* out) {
  const int h = blockIdx.x;
  const float* ml = part_ml + static_cast<std::int64_t>(h) * splits * 2;
  float mx = -INFINITY;
  for (std::int64_t s = 0; s < splits; ++s) mx = fmaxf(mx, ml[2 * s]);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float num = 0.0f, den = 0.0f;
    for (std::int64_t s = 0; s < splits; ++s) {
      const float w = exp2f(ml[2 * s] - mx);
      den += w * ml[2 * s + 1];
      num += w * part_o[(static_cast<std::int64_t>(h) * splits + s) * head_dim + d];
    }
    out[static_cast<std::int64_t>(h) * head_dim + d] = __float2bfloat16(den > 0.0f ? num / den : 0.0f);
  }
}

}  // namespace

std::size_t decode_workspace_bytes(int heads, int head_dim, std::int64_t max_length) {
  return sizeof(float) * static_cast<std::size_t>(heads) * static_cast<std::size_t>(splits_for(max_length)) *
         static_cast<std::size_t>(head_dim + 2);
}

void decode_attention(const DecodeParams& p, void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  using runtime::Error;
  using runtime::ErrorCode;
  if (p.length <= 0) throw Error(ErrorCode::Internal, "", "decode_attention", "no keys");
  if (p.group <= 0 || p.group > kMaxGroup || p.heads % p.group != 0) {
    throw Error(ErrorCode::Internal, "", "decode_attention", "query heads per kv head must be 1..8");
  }
  if (workspace_bytes < decode_workspace_bytes(p.heads, p.head_dim, p.length)) {
    throw Error(ErrorCode::Internal, "", "decode_attention", "workspace too small");
  }
  const std::int64_t splits = splits_for(p.length);
  float* part_o = static_cast<float*>(workspace);
  float* part_ml = part_o + static_cast<std::int64_t>(p.heads) * splits * p.head_dim;
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(p.heads / p.group));
  switch (p.head_dim) {
    case 16: decode_split_kernel<16><<<grid, kThreads, 0, stream>>>(p, splits, part_o, part_ml); break;
    case 32: decode_split_kernel<32><<<grid, kThreads, 0, stream>>>(p, splits, part_o, part_ml); break;
    case 64: decode_split_kernel<64><<<grid, kThreads, 0, stream>>>(p, splits, part_o, part_ml); break;
    case 80: decode_split_kernel<80><<<grid, kThreads, 0, stream>>>(p, splits, part_o, part_ml); break;
    case 128: decode_split_kernel<128><<<grid, kThreads, 0, stream>>>(p, splits, part_o, part_ml); break;
    default:
      throw Error(ErrorCode::Internal, "", "decode_attention",
                  "head dim " + std::to_string(p.head_dim) + " is not one of 16, 32, 64, 80, 128");
  }
  MMI_GPU_CHECK_LAUNCH("decode_attention");
  decode_merge_kernel<<<static_cast<unsigned>(p.heads), 128, 0, stream>>>(splits, p.head_dim, part_o, part_ml, p.o);
  MMI_GPU_CHECK_LAUNCH("decode_attention merge");
}

}  // namespace mmi::ops::cuda
