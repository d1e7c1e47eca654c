#include "language.hpp"

#include <algorithm>
#include <cmath>

#include "attention.hpp"
#include "mmi/ops/activation.hpp"
#include "mmi/ops/embedding.hpp"
#include "mmi/ops/linear.hpp"
#include "mmi/ops/norm.hpp"
#include "mmi/ops/rope.hpp"
#include "mmi/ops/thread_pool.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl {

void check_cancel(const RunControl& control) {
  if (control.cancel != nullptr && control.cancel->load(std::memory_order_relaxed)) {
    throw runtime::Error(runtime::ErrorCode::Cancelled, "", "", "cancelled by the caller");
  }
}

KvCache::KvCache(const TextConfig& c, std::int64_t capacity)
    : row_size(c.kv_heads * c.head_dim),
      k_(static_cast<std::size_t>(c.layers)),
      v_(static_cast<std::size_t>(c.layers)) {
  reserve(capacity);
}

void KvCache::reserve(std::int64_t rows) {
  if (rows <= capacity_) return;
  const std::int64_t cap = std::max(rows, capacity_ + capacity_ / 2);
  for (auto* store : {&k_, &v_}) {
    for (auto& layer : *store) layer.resize(static_cast<std::size_t>(cap * row_size));
  }
  capacity_ = cap;
}

LanguageModel::LanguageModel(const TextConfig& config, TextWeights weights, ops::ThreadPool* pool,
                             std::int64_t token_chunk)
    : c_(config), w_(std::move(weights)), pool_(pool), chunk_(std::max<std::int64_t>(1, token_chunk)) {}

void LanguageModel::embed(std::span<const std::int32_t> ids, float* out) const {
  ops::embedding(w_.embed, ids.data(), static_cast<std::int64_t>(ids.size()), out);
}

namespace {

void report(const RunControl& control, Stage stage, std::int64_t done, std::int64_t total) {
  if (control.on_progress) control.on_progress(stage, done, total);
}

}  // namespace

std::vector<float> LanguageModel::forward(std::vector<float>& x, std::span<const std::int64_t> positions,
                                          KvCache& cache, const PrefillAttention* attention,
                                          const std::vector<Segment>* layout, const RunControl& control, Stage stage,
                                          ForwardTrace* trace, PrefillObserver* observer) const {
  const std::int64_t D = c_.hidden, hd = c_.head_dim, H = c_.heads, KV = c_.kv_heads, I = c_.intermediate;
  const std::int64_t q_dim = H * hd, kv_dim = KV * hd;
  const auto n = static_cast<std::int64_t>(x.size()) / D;
  const std::int64_t start = cache.length;
  cache.reserve(start + n);

  std::vector<float> cos(static_cast<std::size_t>(n * hd)), sin(cos.size());
  ops::mrope_tables(positions.data(), n, n, hd, c_.rope_theta, c_.mrope_section, cos.data(), sin.data());

  if (trace) {
    trace->inputs_embeds = x;
    trace->layer_out.clear();
  }
  const std::int64_t chunk = std::min(chunk_, n);
  std::vector<float> q(static_cast<std::size_t>(n * q_dim)), attn(static_cast<std::size_t>(n * q_dim));
  std::vector<float> y(static_cast<std::size_t>(chunk * D));
  std::vector<float> gate(static_cast<std::size_t>(chunk * I)), up(static_cast<std::size_t>(chunk * I));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::int64_t group = H / KV;

  for (std::int64_t l = 0; l < c_.layers; ++l) {
    check_cancel(control);
    const TextLayerWeights& lw = w_.layers[static_cast<std::size_t>(l)];
    float* kc = cache.k(l);
    float* vc = cache.v(l);
    for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
      const std::int64_t m = std::min(chunk, n - r0);
      ops::rms_norm(x.data() + r0 * D, m, D, lw.input_norm.data(), c_.rms_eps, y.data());
      float* qr = q.data() + r0 * q_dim;
      float* kr = kc + (start + r0) * kv_dim;
      float* vr = vc + (start + r0) * kv_dim;
      ops::linear(y.data(), D, m, lw.q.w, lw.q.bias(), qr, q_dim, false, pool_);
      ops::linear(y.data(), D, m, lw.k.w, lw.k.bias(), kr, kv_dim, false, pool_);
      ops::linear(y.data(), D, m, lw.v.w, lw.v.bias(), vr, kv_dim, false, pool_);
      ops::apply_rotary(qr, m, H, hd, q_dim, cos.data() + r0 * hd, sin.data() + r0 * hd);
      ops::apply_rotary(kr, m, KV, hd, kv_dim, cos.data() + r0 * hd, sin.data() + r0 * hd);
    }

    auto head = [&](std::int64_t h) {
      AttentionCall call;
      call.layer = l;
      call.head = h;
      call.kv_head = h / group;
      call.head_dim = hd;
      call.q_begin = start;
      call.n_q = n;
      call.q = q.data() + h * hd;
      call.q_stride = q_dim;
      call.k = kc + call.kv_head * hd;
      call.v = vc + call.kv_head * hd;
      call.kv_stride = kv_dim;
      call.out = attn.data() + h * hd;
      call.out_stride = q_dim;
      call.scale = scale;
      call.layout = layout;
      if (attention != nullptr) {
        attention->run(call);
      } else {
        continued_causal_attention(call.q, call.q_stride, n, start, call.k, call.v, kv_dim, hd, scale, call.out, q_dim);
      }
    };
    if (attention == nullptr && start == 0) {
      causal_attention(q.data(), q_dim, kc, vc, kv_dim, attn.data(), q_dim, {n, H, KV, hd, scale, pool_ ? pool_->size() : 1});
    } else if (pool_) {
      pool_->parallel_for(H, head);
    } else {
      for (std::int64_t h = 0; h < H; ++h) head(h);
    }
    if (observer != nullptr) {
      LayerQk seen;
      seen.layer = l;
      seen.q_begin = start;
      seen.q = attention::HeadsView{q.data(), attention::DType::f32, H, n, hd, hd, q_dim};
      seen.k = attention::HeadsView{kc, attention::DType::f32, KV, start + n, hd, hd, kv_dim};
      seen.scale = scale;
      seen.layout = layout;
      observer->observe(seen);
    }

    for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
      const std::int64_t m = std::min(chunk, n - r0);
      float* xr = x.data() + r0 * D;
      ops::linear(attn.data() + r0 * q_dim, q_dim, m, lw.o.w, nullptr, xr, D, true, pool_);
      ops::rms_norm(xr, m, D, lw.post_norm.data(), c_.rms_eps, y.data());
      ops::linear(y.data(), D, m, lw.gate.w, nullptr, gate.data(), I, false, pool_);
      ops::linear(y.data(), D, m, lw.up.w, nullptr, up.data(), I, false, pool_);
      ops::silu_mul(gate.data(), up.data(), gate.data(), m * I);
      ops::linear(gate.data(), I, m, lw.down.w, nullptr, xr, D, true, pool_);
    }
    if (trace) trace->layer_out.push_back(x);
    report(control, stage, l + 1, c_.layers);
  }
  cache.length = start + n;

  // Final norm and lm_head: every row when tracing, else the last one only.
  const std::int64_t first = trace ? 0 : n - 1;
  const std::int64_t rows = n - first;
  std::vector<float> normed(static_cast<std::size_t>(rows * D));
  ops::rms_norm(x.data() + first * D, rows, D, w_.norm.data(), c_.rms_eps, normed.data());
  std::vector<float> logits(static_cast<std::size_t>(rows * c_.vocab));
  ops::linear(normed.data(), D, rows, w_.lm_head, nullptr, logits.data(), c_.vocab, false, pool_);
  std::vector<float> last(logits.end() - c_.vocab, logits.end());
  if (trace) {
    trace->final_norm = std::move(normed);
    trace->logits = std::move(logits);
  }
  return last;
}

}  // namespace mmi::qwen2_5_vl
