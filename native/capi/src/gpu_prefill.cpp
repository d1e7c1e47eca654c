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

namespace {

constexpr int64_t kDenseBelowTokens = 16384;  // mmi_attention_options' default, as the CPU hook has it

}  // namespace

GpuPrefill::GpuPrefill(const runtime::VideoModel& model, const mmi_attention_options& options, int64_t cached,
                       int64_t count)
    : file_(options.patterns != nullptr ? options.patterns->file.get() : nullptr),
      cached_(cached),
      count_(count),
      dense_below_(options.dense_below_tokens >= 0 ? options.dense_below_tokens : kDenseBelowTokens) {
  if (options.heatmap_count > 0) {
    throw Error(ErrorCode::InvalidInput, "", "attention.heatmaps",
                "heatmaps are captured by the CPU backend only: the GPU pre-fill keeps no layer's queries and keys. "
                "Load the model on the CPU (device cpu, or MMI_DEVICE=cpu in the engine's environment) for heatmaps");
  }
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
      const mmi_head_report r{l,
                              h,
                              static_cast<int32_t>(planned),
                              static_cast<int32_t>(applied),
                              static_cast<int32_t>(reason),
                              count_,
                              keys,
                              density,
                              -1.0,
                              0.0,
                              0.0};
      options.on_head(options.user, &r);
    }
  }
}

}  // namespace mmi::capi
