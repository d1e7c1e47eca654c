// Portable attention kernel (sm_80 and later): the same dense-causal / index-driven sparse computation as the
// Hopper kernel with warp-level tensor-core MMA (mma.sync m16n8k16), for GPUs without wgmma and head dims the
// Hopper kernel does not take (80). One CTA of 4 warps owns one query block of 64 rows; key/value tiles of 64 keys
// (one index entry each: a block or up to 64 listed columns) are double-buffered with cp.async, gathered through
// the column permutation, with each key's original position kept beside the tile for the causal mask.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "attention_common.cuh"
#include "attention_launch.hpp"
#include "ptx.cuh"

namespace mmi::cuda::detail {
namespace {

template <int D>
struct Sm80Layout {
  static constexpr int Stride = D + 8;  // elements per shared row: 16 bytes of padding keep ldmatrix conflict-free
  static constexpr int Chunks = D / 8;
  static constexpr int TileBytes = 64 * Stride * 2;
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + TileBytes;
  static constexpr int kV = kK + 2 * TileBytes;
  static constexpr int kPos = kV + 2 * TileBytes;  // int32 [2 stages][64]
  static constexpr int kStats = kPos + 2 * 64 * 4;  // int32 [2 stages][2 warps][2]
  static constexpr int kBytes = kStats + 2 * 2 * 2 * 4;
};

// acc[4j .. 4j+3] += a * (b0, b1): one m16n8k16 product into fragment block j.
template <typename T, int N>
__device__ __forceinline__ void mma_block(float (&acc)[N], int j, const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  Mma16816<T>::run(acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3], a, b0, b1);
}

template <typename T, int D, bool Sparse>
__global__ void __launch_bounds__(128) sm80_attention_kernel(const __grid_constant__ AttentionParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using L = Sm80Layout<D>;
  extern __shared__ __align__(16) uint8_t smem[];
  const uint32_t sbase = smem_addr(smem);
  auto* kpos = reinterpret_cast<int32_t*>(smem + L::kPos);
  auto* stats = reinterpret_cast<int32_t*>(smem + L::kStats);

  const int tid = threadIdx.x;
  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int g = lane >> 2;
  const int t4 = lane & 3;
  const int64_t n = p.n;
  const int64_t nb = (n + 63) / 64;
  const int64_t qb = nb - 1 - static_cast<int64_t>(blockIdx.x) / p.heads_q;
  const int32_t head = static_cast<int32_t>(blockIdx.x % p.heads_q);
  const int64_t kv_head = head / p.group;
  const int64_t row_base = qb * 64;
  const T* kbase = static_cast<const T*>(p.k) + kv_head * n * D;
  const T* vbase = static_cast<const T*>(p.v) + kv_head * n * D;

  // Q tile (its copies join the first tile's group).
  const T* qbase = static_cast<const T*>(p.q) + static_cast<int64_t>(head) * n * D;
#pragma unroll
  for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
    const int ci = tid + 128 * j;
    const int r = ci / L::Chunks;
    const int c = ci % L::Chunks;
    const int64_t row = row_base + r;
    const int64_t orig = row < n ? original_position(p.row_perm, head, n, row) : -1;
    cp_async16(sbase + L::kQ + (r * L::Stride + c * 8) * 2, orig >= 0 ? qbase + orig * D + c * 8 : qbase,
               orig >= 0 ? 16 : 0);
  }

  SegmentStream stream;
  if constexpr (Sparse) stream.init(p, head, qb, -1);
  const int64_t dense_tiles = qb + 1;

  // Issues the copies of one tile into `stage` and records its keys' original positions.
  auto load_tile = [&](int stage, const Segment& seg, int64_t t) {
    const uint32_t kdst = sbase + L::kK + stage * L::TileBytes;
    const uint32_t vdst = sbase + L::kV + stage * L::TileBytes;
#pragma unroll
    for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
      const int ci = tid + 128 * j;
      const int r = ci / L::Chunks;
      const int c = ci % L::Chunks;
      int64_t key;
      if constexpr (Sparse) {
        key = segment_key(p, seg, r);
      } else {
        key = t * 64 + r;
        if (key >= n) key = -1;
      }
      const int64_t orig = key >= 0 ? original_position(p.col_perm, head, n, key) : -1;
      const uint32_t off = (r * L::Stride + c * 8) * 2;
      cp_async16(kdst + off, orig >= 0 ? kbase + orig * D + c * 8 : kbase, orig >= 0 ? 16 : 0);
      cp_async16(vdst + off, orig >= 0 ? vbase + orig * D + c * 8 : vbase, orig >= 0 ? 16 : 0);
    }
    if (tid < 64) {
      int64_t key;
      if constexpr (Sparse) {
        key = segment_key(p, seg, tid);
      } else {
        key = t * 64 + tid;
        if (key >= n) key = -1;
      }
      const int32_t pos = key >= 0 ? static_cast<int32_t>(original_position(p.col_perm, head, n, key)) : kMaskedPos;
      kpos[stage * 64 + tid] = pos;
      const int32_t mn = warp_min_i32(pos), mx = warp_max_i32(pos);
      if (lane == 0) {
        stats[(stage * 2 + warp) * 2 + 0] = mn;
        stats[(stage * 2 + warp) * 2 + 1] = mx;
      }
    }
    cp_async_commit();
  };

  int32_t rpos[2];
  int32_t row_min = INT_MAX, row_max = -1;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t row = row_base + warp * 16 + g + 8 * r;
    if (row < n) {
      rpos[r] = static_cast<int32_t>(original_position(p.row_perm, head, n, row));
      row_min = min(row_min, rpos[r]);
      row_max = max(row_max, rpos[r]);
    } else {
      rpos[r] = kPadRowPos;
    }
  }
  row_min = warp_min_i32(row_min);
  row_max = warp_max_i32(row_max);

  float o[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};
  float l[2] = {0.0f, 0.0f};
  uint32_t qf[D / 16][4];

  Segment seg{};
  bool have = true;
  if constexpr (Sparse) {
    seg = stream.next(p);
    have = seg.kind != 0;
  }
  if (have) load_tile(0, seg, 0);
  for (int64_t t = 0; have; ++t) {
    const int stage = static_cast<int>(t & 1);
    bool have_next;
    Segment next{};
    if constexpr (Sparse) {
      next = stream.next(p);
      have_next = next.kind != 0;
    } else {
      have_next = t + 1 < dense_tiles;
    }
    if (have_next) {
      load_tile(stage ^ 1, next, t + 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const int row = warp * 16 + (lane & 15);
        const int col = kk * 16 + (lane >> 4) * 8;
        ldmatrix_x4(qf[kk], sbase + L::kQ + (row * L::Stride + col) * 2);
      }
    }
    const int32_t kmin = min(stats[(stage * 2 + 0) * 2 + 0], stats[(stage * 2 + 1) * 2 + 0]);
    const int32_t kmax = max(stats[(stage * 2 + 0) * 2 + 1], stats[(stage * 2 + 1) * 2 + 1]);
    if (kmin <= row_max) {
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
          const int col = 16 * kk + 8 * ((lane >> 3) & 1);
          ldmatrix_x4(b, kst + (key * L::Stride + col) * 2);
          mma_block<T>(s, 2 * jp, qf[kk], b[0], b[1]);
          mma_block<T>(s, 2 * jp + 1, qf[kk], b[2], b[3]);
        }
      }
      if (kmax > row_min) {
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int2 kp = *reinterpret_cast<const int2*>(&kpos[stage * 64 + 8 * j + 2 * t4]);
          if (kp.x > rpos[0]) s[j * 4 + 0] = -INFINITY;
          if (kp.y > rpos[0]) s[j * 4 + 1] = -INFINITY;
          if (kp.x > rpos[1]) s[j * 4 + 2] = -INFINITY;
          if (kp.y > rpos[1]) s[j * 4 + 3] = -INFINITY;
        }
      }
      float alpha[2];
      online_softmax<8>(s, m, l, p.scale_log2, alpha);
#pragma unroll
      for (int j = 0; j < D / 8; ++j) {
        o[j * 4 + 0] *= alpha[0];
        o[j * 4 + 1] *= alpha[0];
        o[j * 4 + 2] *= alpha[1];
        o[j * 4 + 3] *= alpha[1];
      }
      const uint32_t vst = sbase + L::kV + stage * L::TileBytes;
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        uint32_t a[4];
        probs_to_a<T, 8>(s, kk, a);
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
          uint32_t b[4];
          const int key = 16 * kk + (lane & 15);
          const int col = 16 * dp + 8 * (lane >> 4);
          ldmatrix_x4_trans(b, vst + (key * L::Stride + col) * 2);
          mma_block<T>(o, 2 * dp, a, b[0], b[1]);
          mma_block<T>(o, 2 * dp + 1, a, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // this stage is free for the tile after next
    seg = next;
    have = have_next;
  }
  cp_async_wait<0>();
  __syncthreads();

  // Epilogue through the Q tile's shared rows, 16-byte stores scattered to original positions.
  float inv[2];
  finish_rows(l, inv);
#pragma unroll
  for (int j = 0; j < D / 8; ++j) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = warp * 16 + g + 8 * r;
      *reinterpret_cast<uint32_t*>(smem + L::kQ + (row * L::Stride + 8 * j + 2 * t4) * 2) =
          pack2<T>(o[j * 4 + 2 * r] * inv[r], o[j * 4 + 2 * r + 1] * inv[r]);
    }
  }
  __syncthreads();
  T* obase = static_cast<T*>(p.o) + static_cast<int64_t>(head) * n * D;
#pragma unroll
  for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
    const int ci = tid + 128 * j;
    const int r = ci / L::Chunks;
    const int c = ci % L::Chunks;
    const int64_t row = row_base + r;
    if (row < n) {
      const int64_t orig = original_position(p.row_perm, head, n, row);
      *reinterpret_cast<uint4*>(obase + orig * D + c * 8) =
          *reinterpret_cast<const uint4*>(smem + L::kQ + (r * L::Stride + c * 8) * 2);
    }
  }
#endif
}

template <typename T, int D, bool Sparse>
void launch(const AttentionParams& p, cudaStream_t stream) {
  using L = Sm80Layout<D>;
  auto kernel = sm80_attention_kernel<T, D, Sparse>;
  MMI_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kBytes));
  const int64_t grid = ((p.n + 63) / 64) * p.heads_q;
  if (grid > INT32_MAX) throw Error("attention: too many (block, head) pairs for one launch");
  kernel<<<static_cast<unsigned>(grid), 128, L::kBytes, stream>>>(p);
  MMI_CUDA_CHECK_LAUNCH("sm80_attention_kernel");
}

template <typename T>
void dispatch(const AttentionParams& p, int head_dim, bool sparse, cudaStream_t stream) {
  switch (head_dim) {
    case 64:
      sparse ? launch<T, 64, true>(p, stream) : launch<T, 64, false>(p, stream);
      return;
    case 80:
      sparse ? launch<T, 80, true>(p, stream) : launch<T, 80, false>(p, stream);
      return;
    case 128:
      sparse ? launch<T, 128, true>(p, stream) : launch<T, 128, false>(p, stream);
      return;
    default:
      throw Error("attention (portable kernel): head dim must be 64, 80 or 128");
  }
}

}  // namespace

void launch_sm80(const AttentionParams& p, DType dtype, int head_dim, bool sparse, cudaStream_t stream) {
  if (dtype == DType::bf16) {
    dispatch<__nv_bfloat16>(p, head_dim, sparse, stream);
  } else {
    dispatch<__half>(p, head_dim, sparse, stream);
  }
}

}  // namespace mmi::cuda::detail
