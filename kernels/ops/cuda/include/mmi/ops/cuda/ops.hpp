// The model ops of the forward graphs on the GPU (the CUDA twins of kernels/ops): embedding lookup, RMSNorm,
// rotary (2D for the vision tower, M-RoPE for the language model) fused with the bias add and the split of a fused
// q/k/v projection into the attention layouts, SwiGLU, exact GELU, row gathers/scatters and greedy choice.
// Activations between GEMMs are bf16, the residual stream and every reduction fp32. All launches are asynchronous
// on the given stream; launch failures raise mmi::runtime::Error(DeviceError).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mmi::ops::cuda {

using bf16 = __nv_bfloat16;

// out[i][:] = table[ids[i]][:] as fp32 (ids already validated).
void embedding(const bf16* table, const std::int32_t* ids, std::int64_t n, std::int64_t dim, float* out,
               std::int64_t ld_out, cudaStream_t stream);

// out[r] = bf16(weight ⊙ x[r] / sqrt(mean(x[r]²) + eps)), computed in fp32 as kernels/ops/norm does.
void rms_norm(const float* x, std::int64_t ldx, std::int64_t rows, std::int64_t dim, const float* weight, float eps,
              bf16* out, std::int64_t ld_out, cudaStream_t stream);

// x[r][c] += bias[c].
void add_bias(float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* bias, cudaStream_t stream);

// A fused q/k/v projection (fp32, bias not yet added) split into bf16 q, k, v with the rotary applied to q and k.
// Rotary angle j < head_dim/2 of row i is float(pos[select[j] * pos_stride + p(i)]) · freq[j] with
// p(i) = i % pos_period (0: i), cos/sin taken in double, then v·cos + rotate_half(v)·sin over the head — as
// kernels/ops/rope.cpp computes it. Output element d of head h of row i goes to x[i * x_row + h * x_head + d].
struct QkvSplit {
  const float* qkv = nullptr;  // [rows, (hq + 2·hkv) · head_dim]
  std::int64_t ld = 0;
  const float* bias = nullptr;  // [(hq + 2·hkv) · head_dim] or null
  std::int64_t rows = 0;
  int hq = 0, hkv = 0, head_dim = 0;
  const std::int64_t* pos = nullptr;  // device, 3 rows
  std::int64_t pos_stride = 0;
  std::int64_t pos_period = 0;
  const std::int32_t* select = nullptr;  // device, head_dim / 2 entries in {0, 1, 2}
  const float* freq = nullptr;           // device, head_dim / 2 entries
  bf16* q = nullptr;
  std::int64_t q_row = 0, q_head = 0;
  bf16* k = nullptr;
  std::int64_t k_row = 0, k_head = 0;
  bf16* v = nullptr;
  std::int64_t v_row = 0, v_head = 0;
};
void rope_split_qkv(const QkvSplit& p, cudaStream_t stream);

// out[r][j] = bf16(silu(g + bg) · (u + bu)), g = gate_up[r][j], u = gate_up[r][inter + j]; gate_up is fp32
// (gate_up_f32) or bf16; bias ([2·inter]: gate then up) may be null.
void silu_mul(const void* gate_up, bool gate_up_f32, std::int64_t ld, std::int64_t rows, std::int64_t inter,
              const float* bias, bf16* out, std::int64_t ld_out, cudaStream_t stream);

// out[r][c] = bf16(gelu_erf(x[r][c] + bias[c])).
void gelu_bias(const float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* bias, bf16* out,
               std::int64_t ld_out, cudaStream_t stream);

// out[i] = bf16(x[i]), n contiguous elements.
void to_bf16(const float* x, std::int64_t n, bf16* out, cudaStream_t stream);

// dst[dst_index ? dst_index[r] : r][:] = src[src_index ? src_index[r] : r][:] (+ bias), fp32 rows of cols.
void copy_rows(const float* src, std::int64_t ld_src, const std::int64_t* src_index, float* dst, std::int64_t ld_dst,
               const std::int64_t* dst_index, std::int64_t rows, std::int64_t cols, const float* bias,
               cudaStream_t stream);

// Attention output from the head-major layout [heads][n][head_dim] (head stride head_stride) back to rows:
// out[i][h·head_dim + d] = in[h·head_stride + (r0 + i)·head_dim + d] for i < rows.
void heads_to_rows(const bf16* in, std::int64_t head_stride, int heads, int head_dim, std::int64_t r0,
                   std::int64_t rows, bf16* out, std::int64_t ld_out, cudaStream_t stream);

// *out = the index of the largest of x[0..n) (the lowest index among equals), as the CPU's greedy choice.
void argmax(const float* x, std::int64_t n, std::int32_t* out, cudaStream_t stream);

}  // namespace mmi::ops::cuda
