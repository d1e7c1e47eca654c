// The model's own attention kernels where the attention core's CUDA kernels (kernels/cuda: dense causal and sparse
// pre-fill, queries = keys, head dim 64/80/128) do not apply:
//   - flash_attention: strided bf16 q/k/v, head dims 16-128, either non-causal within variable-length segments (the
//     vision tower's windows and full-attention blocks) or causal for queries that continue a KV cache (follow-up
//     pre-fills, and pre-fills at head dims the core does not take, as in the tiny test models);
//   - decode_attention: one query per head over a long KV cache, split over the keys (memory-bound; GQA heads
//     of a group read each key once).
// Softmax and accumulation in fp32 (mma.sync bf16 tensor cores, fp32 accumulators).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace mmi::ops::cuda {

using bf16 = __nv_bfloat16;

// Element d of head h of row i of x is x[i * x_row + h * x_head + d]. Strides are multiples of 8 elements and the
// pointers 16-byte aligned. Query head h reads kv head h / group.
struct FlashParams {
  const bf16* q = nullptr;
  std::int64_t q_row = 0, q_head = 0;
  const bf16* k = nullptr;
  std::int64_t k_row = 0, k_head = 0;
  const bf16* v = nullptr;
  std::int64_t v_row = 0, v_head = 0;
  bf16* o = nullptr;
  std::int64_t o_row = 0, o_head = 0;
  std::int64_t n_q = 0;  // query rows
  int heads = 0;         // query heads
  int group = 1;         // query heads per kv head
  int head_dim = 0;      // 16, 32, 64, 80 or 128
  float scale = 0.0f;
  // Segments (non-causal): cu (device, segments + 1 ascending entries, cu[0] = 0, cu[segments] = n_q); a query in
  // [cu[s], cu[s+1]) attends exactly the keys [cu[s], cu[s+1]). Null: causal, query i (absolute position q0 + i)
  // attends keys [0, q0 + i].
  const std::int64_t* cu = nullptr;
  int segments = 0;
  std::int64_t q0 = 0;
};

// Raises Error(Internal) for an unsupported head dim or misaligned operands.
void flash_attention(const FlashParams& p, cudaStream_t stream);

// One new query per head (its position is length - 1) over keys [0, length) of a cache laid out
// [kv_heads][capacity][head_dim]; q and o are [heads][head_dim]. Head dims as flash_attention; group <= 8.
struct DecodeParams {
  const bf16* q = nullptr;
  const bf16* k = nullptr;
  const bf16* v = nullptr;
  std::int64_t kv_head = 0;  // elements from one kv head to the next (capacity · head_dim)
  std::int64_t length = 0;
  int heads = 0;
  int group = 1;
  int head_dim = 0;
  float scale = 0.0f;
  bf16* o = nullptr;
};

// Scratch for decode_attention at up to max_length keys.
std::size_t decode_workspace_bytes(int heads, int head_dim, std::int64_t max_length);
void decode_attention(const DecodeParams& p, void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace mmi::ops::cuda
