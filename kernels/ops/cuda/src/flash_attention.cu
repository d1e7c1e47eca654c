// Flash attention with strided operands, variable-length non-causal segments or a causal offset; see
// include/mmi/ops/cuda/attention.hpp. A CTA takes 64 query rows of one head (4 warps × 16 rows) and walks the
// union of their key ranges in tiles of 64 keys: S = QKᵀ and O += PV on mma.sync (bf16 in, fp32 accumulators),
// online softmax in registers, per-element masks from each row's own key range.
#include <cmath>
#include <string>

#include "mma.cuh"
#include "mmi/ops/cuda/attention.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::ops::cuda {

namespace {

using namespace detail;

constexpr int kRows = 64;
constexpr int kKeys = 64;
constexpr int kThreads = 128;

// The segment holding row: the largest s < segments with cu[s] <= row.
__device__ __forceinline__ int segment_of(const std::int64_t* cu, int segments, std::int64_t row) {
  int lo = 0, hi = segments - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (cu[mid] <= row) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_kernel(const FlashParams p) {
  constexpr int LD = HD + 8;  // padded shared rows: conflict-free ldmatrix
  constexpr int KS = HD / 16;
  constexpr int OB = HD / 8;
  constexpr int C8 = HD / 8;  // 16-byte chunks per row
  __shared__ __align__(16) bf16 sk[kKeys * LD];
  __shared__ __align__(16) bf16 sv[kKeys * LD];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int h = blockIdx.y;
  const std::int64_t kvh = h / p.group;
  const std::int64_t r0 = static_cast<std::int64_t>(blockIdx.x) * kRows;
  const bf16* q = p.q + h * p.q_head;
  const bf16* k = p.k + kvh * p.k_head;
  const bf16* v = p.v + kvh * p.v_head;

  // Each thread's two fragment rows and their key ranges; the tile's key range.
  std::int64_t lo[2], hi[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const std::int64_t row = r0 + warp * 16 + g + 8 * r;
    if (row >= p.n_q) {
      lo[r] = hi[r] = 0;
    } else if (p.cu) {
      const int s = segment_of(p.cu, p.segments, row);
      lo[r] = p.cu[s];
      hi[r] = p.cu[s + 1];
    } else {
      lo[r] = 0;
      hi[r] = p.q0 + row + 1;
    }
  }
  const std::int64_t last = min(p.n_q, r0 + kRows) - 1;
  std::int64_t kb, ke;
  if (p.cu) {
    kb = p.cu[segment_of(p.cu, p.segments, r0)];
    ke = p.cu[segment_of(p.cu, p.segments, last) + 1];
  } else {
    kb = 0;
    ke = p.q0 + last + 1;
  }

  // Q tile through shared memory into A fragments.
  for (int c = threadIdx.x; c < kRows * C8; c += kThreads) {
    const int row = c / C8, c8 = c % C8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (r0 + row < p.n_q) val = *reinterpret_cast<const uint4*>(q + (r0 + row) * p.q_row + c8 * 8);
    *reinterpret_cast<uint4*>(&sk[row * LD + c8 * 8]) = val;
  }
  __syncthreads();
  std::uint32_t qf[KS][4];
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    ldmatrix_x4(qf[ks], smem_addr(&sk[(warp * 16 + (lane % 16)) * LD + ks * 16 + (lane / 16) * 8]));
  }
  __syncthreads();

  float o[OB][4];
#pragma unroll
  for (int b = 0; b < OB; ++b) o[b][0] = o[b][1] = o[b][2] = o[b][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const float sl2 = p.scale * 1.4426950408889634f;

  for (std::int64_t kt = kb; kt < ke; kt += kKeys) {
    for (int c = threadIdx.x; c < kKeys * C8; c += kThreads) {
      const int row = c / C8, c8 = c % C8;
      const std::int64_t key = kt + row;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (key < ke) {
        kv = *reinterpret_cast<const uint4*>(k + key * p.k_row + c8 * 8);
        vv = *reinterpret_cast<const uint4*>(v + key * p.v_row + c8 * 8);
      }
      *reinterpret_cast<uint4*>(&sk[row * LD + c8 * 8]) = kv;
      *reinterpret_cast<uint4*>(&sv[row * LD + c8 * 8]) = vv;
    }
    __syncthreads();

    float s[8][4];
#pragma unroll
    for (int b = 0; b < 8; ++b) s[b][0] = s[b][1] = s[b][2] = s[b][3] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) {
#pragma unroll
      for (int nb2 = 0; nb2 < 4; ++nb2) {
        std::uint32_t b[4];
        ldmatrix_x4(b, smem_addr(&sk[((nb2 * 2 + lane / 16) * 8 + (lane % 8)) * LD + ks * 16 + ((lane / 8) % 2) * 8]));
        mma_bf16(s[nb2 * 2], qf[ks], b[0], b[1]);
        mma_bf16(s[nb2 * 2 + 1], qf[ks], b[2], b[3]);
      }
    }

    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int b = 0; b < 8; ++b) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const std::int64_t key = kt + b * 8 + 2 * t + (e & 1);
        const int r = e >> 1;
        if (key < lo[r] || key >= hi[r]) s[b][e] = -INFINITY;
        mx[r] = fmaxf(mx[r], s[b][e]);
      }
    }
    float base[2], alpha[2], sum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      // A row that has seen only masked keys keeps max -inf: subtracting 0 keeps exp2(-inf) = 0, never NaN.
      base[r] = mx[r] == -INFINITY ? 0.0f : mx[r] * sl2;
      alpha[r] = exp2f(m[r] * sl2 - base[r]);
      m[r] = mx[r];
    }
#pragma unroll
    for (int b = 0; b < 8; ++b) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[b][e] = exp2f(fmaf(s[b][e], sl2, -base[e >> 1]));
        sum[e >> 1] += s[b][e];
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) l[r] = l[r] * alpha[r] + sum[r];
#pragma unroll
    for (int b = 0; b < OB; ++b) {
      o[b][0] *= alpha[0];
      o[b][1] *= alpha[0];
      o[b][2] *= alpha[1];
      o[b][3] *= alpha[1];
    }

#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const std::uint32_t a[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                                  pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                  pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int ob2 = 0; ob2 < OB / 2; ++ob2) {
        std::uint32_t b[4];
        ldmatrix_x4_trans(
            b, smem_addr(&sv[(kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * LD + (ob2 * 2 + lane / 16) * 8]));
        mma_bf16(o[ob2 * 2], a, b[0], b[1]);
        mma_bf16(o[ob2 * 2 + 1], a, b[2], b[3]);
      }
    }
    __syncthreads();
  }

  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    inv[r] = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
  }
  bf16* out = p.o + h * p.o_head;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const std::int64_t row = r0 + warp * 16 + g + 8 * r;
    if (row >= p.n_q) continue;
#pragma unroll
    for (int b = 0; b < OB; ++b) {
      const __nv_bfloat162 val = __floats2bfloat162_rn(o[b][2 * r] * inv[r], o[b][2 * r + 1] * inv[r]);
      *reinterpret_cast<__nv_bfloat162*>(out + row * p.o_row + b * 8 + 2 * t) = val;
    }
  }
}

bool aligned16(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; }

}  // namespace

void flash_attention(const FlashParams& p, cudaStream_t stream) {
  using runtime::Error;
  using runtime::ErrorCode;
  if (p.n_q == 0) return;
  if (p.heads <= 0 || p.group <= 0 || p.heads % p.group != 0) {
    throw Error(ErrorCode::Internal, "", "flash_attention", "bad head counts");
  }
  for (std::int64_t stride : {p.q_row, p.q_head, p.k_row, p.k_head, p.v_row, p.v_head, p.o_row, p.o_head}) {
    if (stride % 8 != 0) throw Error(ErrorCode::Internal, "", "flash_attention", "strides must be multiples of 8");
  }
  if (!aligned16(p.q) || !aligned16(p.k) || !aligned16(p.v) || !aligned16(p.o)) {
    throw Error(ErrorCode::Internal, "", "flash_attention", "operands must be 16-byte aligned");
  }
  if (p.cu && p.segments <= 0) throw Error(ErrorCode::Internal, "", "flash_attention", "no segments");
  const dim3 grid(static_cast<unsigned>((p.n_q + kRows - 1) / kRows), static_cast<unsigned>(p.heads));
  switch (p.head_dim) {
    case 16: flash_kernel<16><<<grid, kThreads, 0, stream>>>(p); break;
    case 32: flash_kernel<32><<<grid, kThreads, 0, stream>>>(p); break;
    case 64: flash_kernel<64><<<grid, kThreads, 0, stream>>>(p); break;
    case 80: flash_kernel<80><<<grid, kThreads, 0, stream>>>(p); break;
    case 128: flash_kernel<128><<<grid, kThreads, 0, stream>>>(p); break;
    default:
      throw Error(ErrorCode::Internal, "", "flash_attention",
                  "head dim " + std::to_string(p.head_dim) + " is not one of 16, 32, 64, 80, 128");
  }
  MMI_GPU_CHECK_LAUNCH("flash_attention");
}

}  // namespace mmi::ops::cuda
