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
#include "mmi/runtime/tensor_parallel.hpp"

namespace mmi::qwen2_5_vl {

void check_cancel(const RunControl& control) {
  if (control.cancel != nullptr && control.cancel->load(std::memory_order_relaxed)) {
    throw runtime::Error(runtime::ErrorCode::Cancelled, "", "", "cancelled by the caller");
  }
}

KvCache::KvCache(const TextConfig& c, std::span<const runtime::RankSlice> ranks, std::int64_t capacity) {
  for (const runtime::RankSlice& r : ranks) {
    Store store;
    store.row_size = r.kv_heads.size() * c.head_dim;
    store.k.resize(static_cast<std::size_t>(c.layers));
    store.v.resize(static_cast<std::size_t>(c.layers));
    stores_.push_back(std::move(store));
  }
  reserve(capacity);
}

void KvCache::reserve(std::int64_t rows) {
  if (rows <= capacity_) return;
  const std::int64_t cap = std::max(rows, capacity_ + capacity_ / 2);
  for (Store& store : stores_) {
    for (auto* layers : {&store.k, &store.v}) {
      for (auto& layer : *layers) layer.resize(static_cast<std::size_t>(cap * store.row_size));
    }
  }
  capacity_ = cap;
}

LanguageModel::LanguageModel(const TextConfig& config, TextWeights weights, ops::ThreadPool* pool,
                             std::int64_t token_chunk, std::int64_t ranks)
    : c_(config),
      w_(std::move(weights)),
      pool_(pool),
      chunk_(std::max<std::int64_t>(1, token_chunk)),
      ranks_(runtime::plan_ranks(config.heads, config.kv_heads, config.intermediate, ranks)) {}

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
  const std::int64_t q_dim = H * hd, kv_dim = KV * hd;  // kv_dim: the one rank's store when observed
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
  const std::size_t R = ranks_.size();
  // q and the attention output hold every head (each rank writes its own heads' columns); with several ranks each
  // rank's share of the output and down projections goes to its own partial buffer, summed before the residual add.
  std::vector<float> q(static_cast<std::size_t>(n * q_dim)), attn(static_cast<std::size_t>(n * q_dim));
  std::vector<float> y(static_cast<std::size_t>(chunk * D));
  std::vector<float> gate(static_cast<std::size_t>(chunk * I)), up(static_cast<std::size_t>(chunk * I));
  std::vector<std::vector<float>> partial(R > 1 ? R : 0, std::vector<float>(static_cast<std::size_t>(chunk * D)));
  std::vector<const float*> partials;
  for (const auto& p : partial) partials.push_back(p.data());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::int64_t group = H / KV;
  // out += Σ_r project(r, into): one rank writes into `out` itself; several write partials, then the all-reduce.
  const auto merged = [&](float* out, std::int64_t m, const auto& project) {
    if (R == 1) {
      project(std::size_t{0}, out, D, true);
      return;
    }
    for (std::size_t r = 0; r < R; ++r) project(r, partial[r].data(), D, false);
    runtime::reduce_add(partials, m * D, out);
  };

  for (std::int64_t l = 0; l < c_.layers; ++l) {
    check_cancel(control);
    const TextLayerWeights& lw = w_.layers[static_cast<std::size_t>(l)];
    for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
      const std::int64_t m = std::min(chunk, n - r0);
      ops::rms_norm(x.data() + r0 * D, m, D, lw.input_norm.data(), c_.rms_eps, y.data());
      for (std::size_t r = 0; r < R; ++r) {
        const runtime::RankSlice& rank = ranks_[r];
        const std::int64_t kv_w = cache.row_size(r);
        float* qr = q.data() + r0 * q_dim + rank.q_heads.begin * hd;
        float* kr = cache.k(l, r) + (start + r0) * kv_w;
        float* vr = cache.v(l, r) + (start + r0) * kv_w;
        const auto rows = [&](const Linear& w, const runtime::Range& heads, float* out, std::int64_t ldc) {
          ops::linear(y.data(), D, m, ops::row_slice(w.w, heads.begin * hd, heads.size() * hd),
                      w.bias() ? w.bias() + heads.begin * hd : nullptr, out, ldc, false, pool_);
        };
        rows(lw.q, rank.q_heads, qr, q_dim);
        rows(lw.k, rank.kv_heads, kr, kv_w);
        rows(lw.v, rank.kv_heads, vr, kv_w);
        ops::apply_rotary(qr, m, rank.q_heads.size(), hd, q_dim, cos.data() + r0 * hd, sin.data() + r0 * hd);
        ops::apply_rotary(kr, m, rank.kv_heads.size(), hd, kv_w, cos.data() + r0 * hd, sin.data() + r0 * hd);
      }
    }

    for (std::size_t r = 0; r < R; ++r) {
      const runtime::RankSlice& rank = ranks_[r];
      const std::int64_t kv_w = cache.row_size(r);
      float* kc = cache.k(l, r);
      float* vc = cache.v(l, r);
      auto head = [&](std::int64_t local) {
        const std::int64_t h = rank.q_heads.begin + local;
        AttentionCall call;
        call.layer = l;
        call.head = h;
        call.kv_head = h / group;
        call.head_dim = hd;
        call.q_begin = start;
        call.n_q = n;
        call.q = q.data() + h * hd;
        call.q_stride = q_dim;
        call.k = kc + (call.kv_head - rank.kv_heads.begin) * hd;
        call.v = vc + (call.kv_head - rank.kv_heads.begin) * hd;
        call.kv_stride = kv_w;
        call.out = attn.data() + h * hd;
        call.out_stride = q_dim;
        call.scale = scale;
        call.layout = layout;
        if (attention != nullptr) {
          attention->run(call);
        } else {
          continued_causal_attention(call.q, call.q_stride, n, start, call.k, call.v, kv_w, hd, scale, call.out,
                                     q_dim);
        }
      };
      const std::int64_t heads = rank.q_heads.size();
      if (attention == nullptr && start == 0) {
        causal_attention(q.data() + rank.q_heads.begin * hd, q_dim, kc, vc, kv_w,
                         attn.data() + rank.q_heads.begin * hd, q_dim,
                         {n, heads, rank.kv_heads.size(), hd, scale, pool_ ? pool_->size() : 1});
      } else if (pool_) {
        pool_->parallel_for(heads, head);
      } else {
        for (std::int64_t h = 0; h < heads; ++h) head(h);
      }
    }
    if (observer != nullptr) {
      if (R != 1) throw runtime::Error(runtime::ErrorCode::InvalidInput, "", "observer", "observed q/k need one rank");
      LayerQk seen;
      seen.layer = l;
      seen.q_begin = start;
      seen.q = attention::HeadsView{q.data(), attention::DType::f32, H, n, hd, hd, q_dim};
      seen.k = attention::HeadsView{cache.k(l, 0), attention::DType::f32, KV, start + n, hd, hd, kv_dim};
      seen.scale = scale;
      seen.layout = layout;
      observer->observe(seen);
    }

    for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
      const std::int64_t m = std::min(chunk, n - r0);
      float* xr = x.data() + r0 * D;
      merged(xr, m, [&](std::size_t r, float* out, std::int64_t ldc, bool accumulate) {
        const runtime::Range& heads = ranks_[r].q_heads;
        ops::linear(attn.data() + r0 * q_dim + heads.begin * hd, q_dim, m,
                    ops::col_slice(lw.o.w, heads.begin * hd, heads.size() * hd), nullptr, out, ldc, accumulate, pool_);
      });
      ops::rms_norm(xr, m, D, lw.post_norm.data(), c_.rms_eps, y.data());
      merged(xr, m, [&](std::size_t r, float* out, std::int64_t ldc, bool accumulate) {
        const runtime::Range& cols = ranks_[r].columns;
        float* g = gate.data() + cols.begin;
        float* u = up.data() + cols.begin;
        ops::linear(y.data(), D, m, ops::row_slice(lw.gate.w, cols.begin, cols.size()), nullptr, g, I, false, pool_);
        ops::linear(y.data(), D, m, ops::row_slice(lw.up.w, cols.begin, cols.size()), nullptr, u, I, false, pool_);
        for (std::int64_t i = 0; i < m; ++i) ops::silu_mul(g + i * I, u + i * I, g + i * I, cols.size());
        ops::linear(g, I, m, ops::col_slice(lw.down.w, cols.begin, cols.size()), nullptr, out, ldc, accumulate, pool_);
      });
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
