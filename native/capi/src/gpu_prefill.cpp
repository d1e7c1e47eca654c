#include "gpu_prefill.hpp"

#include <algorithm>
#include <string>

#include "handles.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/patterns/prefill.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::capi {

namespace att = mmi::attention;
using runtime::Error;
using runtime::ErrorCode;

GpuPrefill::GpuPrefill(const runtime::VideoModel& model, const mmi_attention_options& options, int64_t cached,
                       int64_t count, std::function<void(const patterns::HeadHeatmap&)> on_heatmap)
    : file_(options.patterns != nullptr ? options.patterns->file.get() : nullptr),
      on_heatmap_(std::move(on_heatmap)),
      cached_(cached),
      count_(count),
      dense_below_(options.dense_below_tokens >= 0 ? options.dense_below_tokens : patterns::kDenseBelowTokens) {
  if (options.recall_floor > 0.0) {
    throw Error(ErrorCode::InvalidInput, "", "attention.recall_floor",
                "the recall floor is measured by the CPU backend only; load the model on the CPU (device cpu, or "
                "MMI_DEVICE=cpu) to use it");
  }
  const runtime::TextShape text = model.text_shape();
  if (cached_ == 0) {
    patterns_ = patterns::head_patterns(model, file_, count_, dense_below_);
  } else {
    patterns_ = {text.layers, text.heads, {}};
  }
  sparse_ = std::any_of(patterns_.configs.begin(), patterns_.configs.end(),
                        [](const att::PatternConfig& c) { return c.pattern != att::Pattern::dense; });
  if (options.heatmap_count > 0 && !(text.head_dim == 64 || text.head_dim == 80 || text.head_dim == 128)) {
    throw Error(ErrorCode::InvalidInput, "", "attention.heatmaps",
                "heatmaps on the GPU need head dim 64, 80 or 128 (the attention core's CUDA kernels); this model has " +
                    std::to_string(text.head_dim) + ". Load it on the CPU (device cpu, or MMI_DEVICE=cpu) for heatmaps");
  }
  for (int64_t i = 0; i < options.heatmap_count; ++i) {
    const int64_t l = options.heatmap_heads[2 * i], h = options.heatmap_heads[2 * i + 1];
    if (l < 0 || l >= text.layers || h < 0 || h >= text.heads) {
      throw Error(ErrorCode::InvalidInput, "", "heatmaps",
                  "head (" + std::to_string(l) + ", " + std::to_string(h) + ") is not in a model of " +
                      std::to_string(text.layers) + " layers × " + std::to_string(text.heads) + " heads");
    }
    // Heatmaps come from fresh pre-fills only, as on the CPU backend.
    if (cached_ == 0 && on_heatmap_) heatmaps_.heads.push_back({l, h});
  }
  heatmaps_.options.grid = options.heatmap_grid > 0 ? options.heatmap_grid : 64;
  heatmaps_.options.samples = options.heatmap_samples > 0 ? options.heatmap_samples : 64;
  heatmaps_.deliver = [this](const runtime::PrefillHeatmap& g) {
    if (g.pattern != att::Pattern::dense) recall_[{g.layer, g.head}] = g.heatmap.recall;
    patterns::HeadHeatmap h;
    h.layer = g.layer;
    h.head = g.head;
    h.tokens = count_;
    h.pattern = g.pattern;
    h.grid = g.grid;
    h.heatmap = g.heatmap;
    on_heatmap_(h);
  };
}

void GpuPrefill::report(const runtime::RunStats& stats, const mmi_attention_options& options) const {
  if (options.on_head == nullptr) return;
  const int64_t keys = cached_ + count_;
  for (int64_t l = 0; l < patterns_.layers; ++l) {
    for (int64_t h = 0; h < patterns_.heads; ++h) {
      const att::Pattern planned = file_ != nullptr ? file_->at(l, h).pattern.pattern : att::Pattern::dense;
      const patterns::DenseReason reason = cached_ > 0                        ? patterns::DenseReason::continued_queries
                                           : file_ == nullptr                 ? patterns::DenseReason::no_pattern_file
                                           : planned == att::Pattern::dense   ? patterns::DenseReason::pattern_is_dense
                                           : keys < dense_below_              ? patterns::DenseReason::short_prompt
                                                                              : patterns::DenseReason::none;
      const att::Pattern applied =
          reason == patterns::DenseReason::none ? patterns_.at(l, h).pattern : att::Pattern::dense;
      double density = 1.0;
      for (const auto& [name, value] : stats.pattern_density) {
        if (applied != att::Pattern::dense && name == att::pattern_name(applied)) density = value;
      }
      const auto measured = recall_.find({l, h});
      const mmi_head_report r{l,
                              h,
                              static_cast<int32_t>(planned),
                              static_cast<int32_t>(applied),
                              static_cast<int32_t>(reason),
                              count_,
                              keys,
                              density,
                              measured != recall_.end() ? measured->second : -1.0,
                              0.0,
                              0.0};
      options.on_head(options.user, &r);
    }
  }
}

}  // namespace mmi::capi
