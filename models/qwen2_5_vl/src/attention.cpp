#include "attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl {

namespace {

namespace att = mmi::attention;

att::HeadsView heads(const float* data, std::int64_t heads, std::int64_t n, std::int64_t dim, std::int64_t stride) {
  return att::HeadsView{data, att::DType::f32, heads, n, dim, dim, stride};
}

void run_dense(const float* q, std::int64_t q_stride, const float* k, const float* v, std::int64_t kv_stride,
               float* out, std::int64_t out_stride, std::span<const std::int64_t> cu, bool causal,
               const AttentionShape& s) {
  att::DenseOptions options;
  options.causal = causal;
  options.segments = cu;
  options.scale = s.scale;
  att::RunControl control;
  control.threads = s.threads;
  try {
    att::dense_attention(heads(q, s.heads, s.n, s.head_dim, q_stride), heads(k, s.kv_heads, s.n, s.head_dim, kv_stride),
                         heads(v, s.kv_heads, s.n, s.head_dim, kv_stride),
                         att::OutputView{out, s.heads, s.n, s.head_dim, s.head_dim, out_stride}, options, control);
  } catch (const att::Error& e) {
    // Shapes are ours to get right; what the core can reject at run time is a NaN/Inf from the weights.
    throw runtime::Error(e.code() == att::ErrorCode::NonFinite ? runtime::ErrorCode::NonFinite
                                                                : runtime::ErrorCode::Internal,
                         "", "attention", e.what());
  }
}

}  // namespace

void segment_attention(const float* q, std::int64_t q_stride, const float* k, const float* v, std::int64_t kv_stride,
                       float* out, std::int64_t out_stride, std::span<const std::int64_t> cu, const AttentionShape& s) {
  run_dense(q, q_stride, k, v, kv_stride, out, out_stride, cu, false, s);
}

void causal_attention(const float* q, std::int64_t q_stride, const float* k, const float* v, std::int64_t kv_stride,
                      float* out, std::int64_t out_stride, const AttentionShape& s) {
  run_dense(q, q_stride, k, v, kv_stride, out, out_stride, {}, true, s);
}

void continued_causal_attention(const float* q, std::int64_t q_stride, std::int64_t n_q, std::int64_t q0,
                                const float* k, const float* v, std::int64_t kv_stride, std::int64_t head_dim,
                                float scale, float* out, std::int64_t out_stride) {
  std::vector<float> scores;
  for (std::int64_t i = 0; i < n_q; ++i) {
    const float* qi = q + i * q_stride;
    float* oi = out + i * out_stride;
    const std::int64_t keys = q0 + i + 1;
    scores.resize(static_cast<std::size_t>(keys));
    float mx = -INFINITY;
    for (std::int64_t j = 0; j < keys; ++j) {
      float d = 0.0f;
      for (std::int64_t c = 0; c < head_dim; ++c) d += qi[c] * k[j * kv_stride + c];
      scores[static_cast<std::size_t>(j)] = d * scale;
      mx = std::max(mx, d * scale);
    }
    double sum = 0.0;
    for (auto& x : scores) sum += (x = std::exp(x - mx));
    const auto inv = static_cast<float>(1.0 / sum);
    std::fill(oi, oi + head_dim, 0.0f);
    for (std::int64_t j = 0; j < keys; ++j) {
      const float p = scores[static_cast<std::size_t>(j)] * inv;
      for (std::int64_t c = 0; c < head_dim; ++c) oi[c] += p * v[j * kv_stride + c];
    }
  }
}

}  // namespace mmi::qwen2_5_vl
