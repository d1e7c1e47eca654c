// Attention for the forward graph, on the attention core's dense CPU kernel (kernels/cpu): non-causal within
// segments for the vision tower, causal for a fresh pre-fill. Queries that continue a KV cache (follow-up
// pre-fills, decode steps) attend all earlier keys, which the core's kernel does not take yet (it needs as many
// queries as keys), so they use the small causal loop here.
#pragma once

#include <cstdint>
#include <span>

namespace mmi::qwen2_5_vl {

// Rows of q/k/v are `stride` floats apart and heads `head_dim` apart (a fused [n, 3, heads, head_dim] buffer or
// separate ones); out rows are `out_stride` apart. Non-causal, within the segments cu (0 = cu[0] < ... = n).
// heads/kv_heads: GQA groups; threads for the core's parallel loop.
struct AttentionShape {
  std::int64_t n = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  float scale = 0.0f;
  int threads = 1;
};

void segment_attention(const float* q, std::int64_t q_stride, const float* k, const float* v, std::int64_t kv_stride,
                       float* out, std::int64_t out_stride, std::span<const std::int64_t> cu, const AttentionShape& s);

// Causal over n rows that are the whole sequence (a fresh pre-fill).
void causal_attention(const float* q, std::int64_t q_stride, const float* k, const float* v, std::int64_t kv_stride,
                      float* out, std::int64_t out_stride, const AttentionShape& s);

// One head: query i (absolute position q0 + i) attends keys [0, q0 + i].
void continued_causal_attention(const float* q, std::int64_t q_stride, std::int64_t n_q, std::int64_t q0,
                                const float* k, const float* v, std::int64_t kv_stride, std::int64_t head_dim,
                                float scale, float* out, std::int64_t out_stride);

}  // namespace mmi::qwen2_5_vl
