#include "mmi/patterns/prefill.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "call_views.hpp"
#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/ops/softmax.hpp"
#include "mmi/patterns/error.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;
using Clock = std::chrono::steady_clock;

const char* dense_reason_name(DenseReason reason) {
  switch (reason) {
    case DenseReason::none: return "none";
    case DenseReason::no_pattern_file: return "no_pattern_file";
    case DenseReason::pattern_is_dense: return "pattern_is_dense";
    case DenseReason::short_prompt: return "short_prompt";
    case DenseReason::recall_floor: return "recall_floor";
    case DenseReason::continued_queries: return "continued_queries";
  }
  return "unknown";
}

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Queries that continue a KV cache: row i (position q_begin + i) attends keys [0, q_begin + i], exactly. The core's
// kernels take fresh pre-fills only, and follow-up questions are short.
void continued_dense(const runtime::AttentionCall& c) {
  const std::int64_t d = c.head_dim;
  std::vector<float> p(static_cast<std::size_t>(c.q_begin + c.n_q));
  for (std::int64_t i = 0; i < c.n_q; ++i) {
    const float* qi = c.q + i * c.q_stride;
    const std::int64_t keys = c.q_begin + i + 1;
    for (std::int64_t j = 0; j < keys; ++j) {
      const float* kj = c.k + j * c.kv_stride;
      float dot = 0.0f;
      for (std::int64_t e = 0; e < d; ++e) dot += qi[e] * kj[e];
      p[static_cast<std::size_t>(j)] = dot * c.scale;
    }
    ops::softmax_rows(p.data(), 1, keys);
    float* oi = c.out + i * c.out_stride;
    std::fill(oi, oi + d, 0.0f);
    for (std::int64_t j = 0; j < keys; ++j) {
      const float w = p[static_cast<std::size_t>(j)];
      const float* vj = c.v + j * c.kv_stride;
      for (std::int64_t e = 0; e < d; ++e) oi[e] += w * vj[e];
    }
  }
}

}  // namespace

namespace {

// Sizes must match; whether the config hash must too is the loader's decision (LoadOptions).
void check_sizes(const runtime::VideoModel& model, const PatternFile& file) {
  check_model(file, model_sizes(model, file.model.config_sha256));
}

}  // namespace

runtime::HeadPatterns head_patterns(const runtime::VideoModel& model, const PatternFile* file, std::int64_t n,
                                       std::int64_t dense_below_tokens) {
  const runtime::TextShape text = model.text_shape();
  runtime::HeadPatterns out{text.layers, text.heads, {}};
  if (file != nullptr) check_sizes(model, *file);
  if (file != nullptr && n >= dense_below_tokens) {
    out.configs = to_configs(*file, n);
  } else {
    out.configs.assign(static_cast<std::size_t>(text.layers * text.heads), att::PatternConfig{});
  }
  return out;
}

SparsePrefill::SparsePrefill(const runtime::VideoModel& model, std::shared_ptr<const PatternFile> file,
                             SparsePrefillOptions options)
    : file_(std::move(file)), options_(std::move(options)) {
  layers_ = model.text_shape().layers;
  heads_ = model.text_shape().heads;
  if (file_) check_sizes(model, *file_);
  auto bad = [](const std::string& where, const std::string& detail) {
    throw Error(ErrorCode::InvalidInput, "", where, detail);
  };
  if (options_.dense_below_tokens < 0) bad("dense_below_tokens", "must be >= 0");
  if (!(options_.recall_floor >= 0.0 && options_.recall_floor <= 1.0)) bad("recall_floor", "must be in [0, 1]");
  if (options_.recall_samples < 1) bad("recall_samples", "must be >= 1");
  for (const HeadRef& h : options_.heatmaps) {
    if (h.layer < 0 || h.layer >= layers_ || h.head < 0 || h.head >= heads_) {
      bad("heatmaps", "head (" + std::to_string(h.layer) + ", " + std::to_string(h.head) + ") is not in a model of " +
                          std::to_string(layers_) + " layers × " + std::to_string(heads_) + " heads");
    }
  }
  reports_.resize(static_cast<std::size_t>(layers_ * heads_));
}

bool SparsePrefill::wants_heatmap(std::int64_t layer, std::int64_t head) const {
  return options_.on_heatmap && std::any_of(options_.heatmaps.begin(), options_.heatmaps.end(), [&](const HeadRef& h) {
           return h.layer == layer && h.head == head;
         });
}

void SparsePrefill::run(const runtime::AttentionCall& call) const {
  try {
    run_head(call);
  } catch (const att::Error& e) {
    detail::rethrow_as_runtime(e, call.layer, call.head);
  }
}

void SparsePrefill::run_head(const runtime::AttentionCall& c) const {
  detail::check_cancel(options_.cancel);
  const std::int64_t n = c.q_begin + c.n_q;
  HeadReport report;
  report.layer = c.layer;
  report.head = c.head;
  report.queries = c.n_q;
  report.keys = n;
  const HeadPattern* planned = file_ ? &file_->at(c.layer, c.head).pattern : nullptr;
  report.planned = planned ? planned->pattern : att::Pattern::dense;
  if (c.q_begin > 0) {
    report.reason = DenseReason::continued_queries;
    const auto t0 = Clock::now();
    continued_dense(c);
    report.attention_ms = ms_between(t0, Clock::now());
    deliver(report, nullptr);
    return;
  }

  report.reason = planned == nullptr                            ? DenseReason::no_pattern_file
                  : planned->pattern == att::Pattern::dense     ? DenseReason::pattern_is_dense
                  : n < options_.dense_below_tokens             ? DenseReason::short_prompt
                                                                : DenseReason::none;
  const detail::CallViews v = detail::views_of(c);
  att::RunControl one_thread;  // the runtime already runs heads in parallel
  one_thread.threads = 1;
  one_thread.cancel = options_.cancel;

  att::HeadEstimate estimate;
  const auto t0 = Clock::now();
  if (report.reason == DenseReason::none) {
    estimate = att::estimate_head(v.q, v.k, 0, detail::layout_of(c.layout, n), to_config(*planned, n), c.scale);
    if (options_.recall_floor > 0.0) {
      // A sum of softmax weights: at most a rounding error above 1.
      report.recall = std::min(1.0, att::recall(v.q, v.k, 0, estimate.index, att::sample_rows(n, options_.recall_samples),
                                                true, c.scale));
      if (*report.recall < options_.recall_floor) report.reason = DenseReason::recall_floor;
    }
  }
  const auto t1 = Clock::now();
  const bool sparse = report.reason == DenseReason::none;
  if (sparse) {
    att::SparseOptions o;
    o.scale = c.scale;
    att::sparse_attention(v.q, v.k, v.v, std::span<const SparseIndex>(&estimate.index, 1), v.out, o, one_thread);
  } else {
    att::DenseOptions o;
    o.scale = c.scale;
    att::dense_attention(v.q, v.k, v.v, v.out, o, one_thread);
  }
  const auto t2 = Clock::now();
  report.applied = sparse ? planned->pattern : att::Pattern::dense;
  report.density = sparse ? att::density(estimate.index).value() : 1.0;
  report.estimation_ms = ms_between(t0, t1);
  report.attention_ms = ms_between(t1, t2);

  if (!wants_heatmap(c.layer, c.head)) {
    deliver(report, nullptr);
    return;
  }
  HeadHeatmap hm;
  hm.layer = c.layer;
  hm.head = c.head;
  hm.pattern = report.applied;
  if (sparse) hm.grid = estimate.grid;
  const SparseIndex index = sparse ? std::move(estimate.index) : att::full_index(n);
  att::HeatmapOptions ho = options_.heatmap_options;
  ho.causal = true;
  ho.scale = c.scale;
  const std::int64_t heads[1] = {0};
  hm.heatmap = std::move(att::heatmaps(v.q, v.k, std::span<const SparseIndex>(&index, 1), heads, ho, one_thread)[0]);
  hm.heatmap.head = c.head;
  hm.heatmap.recall = std::min(1.0, hm.heatmap.recall);
  hm.tokens = n;
  // The heatmap measured the same figure as the recall floor (dense mass the estimated index keeps, mean over
  // sampled rows): the head's report carries it, so a head has one recall wherever it is shown.
  if (sparse && !report.recall) report.recall = hm.heatmap.recall;
  deliver(report, &hm);
}

void SparsePrefill::deliver(HeadReport report, const HeadHeatmap* heatmap) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (heatmap != nullptr) options_.on_heatmap(*heatmap);
  if (options_.on_head) options_.on_head(report);
  reports_[static_cast<std::size_t>(report.layer * heads_ + report.head)] = std::move(report);
}

std::vector<HeadReport> SparsePrefill::reports() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HeadReport> out;
  for (const auto& r : reports_) {
    if (r) out.push_back(*r);
  }
  return out;
}

void SparsePrefill::clear_reports() {
  std::lock_guard<std::mutex> lock(mu_);
  std::fill(reports_.begin(), reports_.end(), std::nullopt);
}

}  // namespace mmi::patterns
