#include "attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mmi::qwen2_5_vl {

namespace {

// out = softmax(scale · q·k_j) · v over keys [k_begin, k_end).
void attend_row(const float* q, const float* k, const float* v, std::int64_t kv_stride, std::int64_t k_begin,
                std::int64_t k_end, std::int64_t head_dim, float scale, float* out, std::vector<float>& scores) {
  const std::int64_t n = k_end - k_begin;
  scores.resize(static_cast<std::size_t>(n));
  float mx = -INFINITY;
  for (std::int64_t j = 0; j < n; ++j) {
    const float* kj = k + (k_begin + j) * kv_stride;
    float s = 0.0f;
    for (std::int64_t d = 0; d < head_dim; ++d) s += q[d] * kj[d];
    s *= scale;
    scores[static_cast<std::size_t>(j)] = s;
    mx = std::max(mx, s);
  }
  double sum = 0.0;
  for (auto& s : scores) {
    s = std::exp(s - mx);
    sum += s;
  }
  const float inv = static_cast<float>(1.0 / sum);
  std::fill(out, out + head_dim, 0.0f);
  for (std::int64_t j = 0; j < n; ++j) {
    const float p = scores[static_cast<std::size_t>(j)] * inv;
    const float* vj = v + (k_begin + j) * kv_stride;
    for (std::int64_t d = 0; d < head_dim; ++d) out[d] += p * vj[d];
  }
}

}  // namespace

void segment_attention(const float* q, const float* k, const float* v, std::int64_t stride, const std::int64_t* cu,
                       std::int64_t segments, std::int64_t head_dim, float scale, float* out, std::int64_t out_stride) {
  std::vector<float> scores;
  for (std::int64_t s = 0; s < segments; ++s) {
    for (std::int64_t i = cu[s]; i < cu[s + 1]; ++i) {
      attend_row(q + i * stride, k, v, stride, cu[s], cu[s + 1], head_dim, scale, out + i * out_stride, scores);
    }
  }
}

void causal_attention(const float* q, std::int64_t q_stride, std::int64_t n_q, std::int64_t q0, const float* k,
                      const float* v, std::int64_t kv_stride, std::int64_t head_dim, float scale, float* out,
                      std::int64_t out_stride) {
  std::vector<float> scores;
  for (std::int64_t i = 0; i < n_q; ++i) {
    attend_row(q + i * q_stride, k, v, kv_stride, 0, q0 + i + 1, head_dim, scale, out + i * out_stride, scores);
  }
}

}  // namespace mmi::qwen2_5_vl
