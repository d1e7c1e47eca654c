// Pieces both attention kernels share: the launch parameters, the walk over a query block's index entries, and
// the online-softmax update on a warp's MMA accumulator fragment.
#pragma once

#include <climits>
#include <cstdint>

#include "ptx.cuh"

namespace mmi::cuda::detail {

inline constexpr int kIndexBlock = 64;  // the index's granularity (sparse_index.hpp)
inline constexpr int32_t kMaskedPos = INT_MAX;  // key slot that no row may see (padding, other warpgroup's key)
inline constexpr int32_t kPadRowPos = INT_MAX - 1;  // row past N: sees every real key, never stored

struct AttentionParams {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  int64_t n;
  int32_t heads_q;
  int32_t group;     // heads_q / heads_kv
  float scale_log2;  // softmax scale * log2(e)
  // Sparse index (all null for dense causal attention).
  int64_t nb;  // query/key blocks of 64
  const int64_t* block_offsets;
  const int32_t* block_ids;
  const int64_t* column_offsets;
  const int32_t* column_ids;
  const int32_t* row_perm;
  const int32_t* col_perm;
};

__device__ __forceinline__ int32_t warp_min_i32(int32_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ int32_t warp_max_i32(int32_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// A run of up to 64 keys the kernel loads as one half-tile: a 64-key block, or up to 64 listed columns.
struct Segment {
  int32_t kind;   // 0 none, 1 block, 2 columns
  int32_t owner;  // bit w set: query block w of the pair lists these keys
  int64_t start;  // block number (kind 1) or position in column_ids (kind 2)
  int32_t count;  // keys (64 for a block)
};

// Walks the union of two query blocks' lists (the second may be empty): shared blocks once with both owner bits,
// then each query block's columns in chunks of 64. Every thread that walks it sees the same sequence.
struct SegmentStream {
  int64_t b0, b0_end, b1, b1_end;
  int64_t c0, c0_end, c1, c1_end;

  __device__ void init(const AttentionParams& p, int32_t head, int64_t qb0, int64_t qb1) {
    const int64_t base = static_cast<int64_t>(head) * p.nb;
    b0 = p.block_offsets[base + qb0];
    b0_end = p.block_offsets[base + qb0 + 1];
    c0 = p.column_offsets[base + qb0];
    c0_end = p.column_offsets[base + qb0 + 1];
    if (qb1 >= 0 && qb1 < p.nb) {
      b1 = p.block_offsets[base + qb1];
      b1_end = p.block_offsets[base + qb1 + 1];
      c1 = p.column_offsets[base + qb1];
      c1_end = p.column_offsets[base + qb1 + 1];
    } else {
      b1 = b1_end = c1 = c1_end = 0;
    }
  }

  __device__ Segment next(const AttentionParams& p) {
    if (b0 < b0_end || b1 < b1_end) {
      const int32_t x = b0 < b0_end ? __ldg(p.block_ids + b0) : INT_MAX;
      const int32_t y = b1 < b1_end ? __ldg(p.block_ids + b1) : INT_MAX;
      if (x < y) {
        ++b0;
        return {1, 1, x, kIndexBlock};
      }
      if (y < x) {
        ++b1;
        return {1, 2, y, kIndexBlock};
      }
      ++b0;
      ++b1;
      return {1, 3, x, kIndexBlock};
    }
    if (c0 < c0_end) {
      const int32_t count = static_cast<int32_t>(c0_end - c0 < kIndexBlock ? c0_end - c0 : kIndexBlock);
      const Segment s{2, 1, c0, count};
      c0 += count;
      return s;
    }
    if (c1 < c1_end) {
      const int32_t count = static_cast<int32_t>(c1_end - c1 < kIndexBlock ? c1_end - c1 : kIndexBlock);
      const Segment s{2, 2, c1, count};
      c1 += count;
      return s;
    }
    return {0, 0, 0, 0};
  }
};

// Key (kernel order) held by slot j (0..63) of a segment, or -1 when the slot is empty.
__device__ __forceinline__ int64_t segment_key(const AttentionParams& p, const Segment& s, int j) {
  if (s.kind == 1) {
    const int64_t key = s.start * kIndexBlock + j;
    return key < p.n ? key : -1;
  }
  if (s.kind == 2 && j < s.count) return __ldg(p.column_ids + s.start + j);
  return -1;
}

__device__ __forceinline__ int64_t original_position(const int32_t* perm, int32_t head, int64_t n, int64_t i) {
  return perm ? static_cast<int64_t>(__ldg(perm + static_cast<int64_t>(head) * n + i)) : i;
}

// Online softmax over one tile held as MMA accumulator fragments: NB blocks of 8 columns, 4 values each
// (rows g and g+8 of the warp's 16, columns 2t and 2t+1). Updates the running max m[2] (raw score units) and
// thread-partial sums l[2], turns s into unnormalised probabilities in place and returns the factors by which
// the output accumulated so far must be scaled.
template <int NB>
__device__ __forceinline__ void online_softmax(float (&s)[NB * 4], float (&m)[2], float (&l)[2], float scale_log2,
                                               float (&alpha)[2]) {
  // Row maxima and sums in four interleaved chains per row: short dependency chains, few live registers.
  float a0[4], a1[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    a0[c] = fmaxf(s[c * 4 + 0], s[c * 4 + 1]);
    a1[c] = fmaxf(s[c * 4 + 2], s[c * 4 + 3]);
  }
#pragma unroll
  for (int j = 4; j < NB; ++j) {
    a0[j & 3] = fmaxf(a0[j & 3], fmaxf(s[j * 4 + 0], s[j * 4 + 1]));
    a1[j & 3] = fmaxf(a1[j & 3], fmaxf(s[j * 4 + 2], s[j * 4 + 3]));
  }
  float mx[2] = {fmaxf(fmaxf(a0[0], a0[1]), fmaxf(a0[2], a0[3])), fmaxf(fmaxf(a1[0], a1[1]), fmaxf(a1[2], a1[3]))};
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], m[r]);
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
  }
  float base[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    // A row that has seen only masked keys keeps max -inf; subtracting 0 then keeps exp2(-inf) = 0, never NaN.
    base[r] = mx[r] == -INFINITY ? 0.0f : mx[r] * scale_log2;
    alpha[r] = fast_exp2(m[r] * scale_log2 - base[r]);
    m[r] = mx[r];
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) a0[c] = a1[c] = 0.0f;
#pragma unroll
  for (int j = 0; j < NB; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j * 4 + e] = fast_exp2(fmaf(s[j * 4 + e], scale_log2, -base[e >> 1]));
    a0[j & 3] += s[j * 4 + 0] + s[j * 4 + 1];
    a1[j & 3] += s[j * 4 + 2] + s[j * 4 + 3];
  }
  l[0] = l[0] * alpha[0] + ((a0[0] + a0[1]) + (a0[2] + a0[3]));
  l[1] = l[1] * alpha[1] + ((a1[0] + a1[1]) + (a1[2] + a1[3]));
}

// Probabilities of 16 consecutive keys (fragment blocks 2kk and 2kk+1) as the A operand of a k16 MMA.
template <typename T, int NB>
__device__ __forceinline__ void probs_to_a(const float (&s)[NB * 4], int kk, uint32_t (&a)[4]) {
  a[0] = pack2<T>(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
  a[1] = pack2<T>(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
  a[2] = pack2<T>(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
  a[3] = pack2<T>(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
}

// Final row sums across the four threads that share a row; 0 for a row that kept no key.
__device__ __forceinline__ void finish_rows(float (&l)[2], float (&inv)[2]) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    inv[r] = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
  }
}

}  // namespace mmi::cuda::detail
