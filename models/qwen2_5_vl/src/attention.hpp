// Dense attention for one head, the two forms the model needs: non-causal within segments (vision tower) and
// causal over a KV cache (language model). Rows are strided so q/k/v can be read in place from fused buffers.
#pragma once

#include <cstdint>

namespace mmi::qwen2_5_vl {

// For each segment s, rows [cu[s], cu[s+1]) attend to each other (no causal mask).
void segment_attention(const float* q, const float* k, const float* v, std::int64_t stride, const std::int64_t* cu,
                       std::int64_t segments, std::int64_t head_dim, float scale, float* out, std::int64_t out_stride);

// Query i (absolute position q0 + i) attends keys [0, q0 + i].
void causal_attention(const float* q, std::int64_t q_stride, std::int64_t n_q, std::int64_t q0, const float* k,
                      const float* v, std::int64_t kv_stride, std::int64_t head_dim, float scale, float* out,
                      std::int64_t out_stride);

}  // namespace mmi::qwen2_5_vl
