// A pre-fill's attention options on a model that runs on the GPU. The pattern file becomes the per-head patterns of
// a fresh pre-fill (mmi::patterns::head_patterns: the GPU runs every pattern, its index estimated on the device);
// the requested heatmaps are computed on the device after each layer's attention and delivered as the CPU backend's
// hook delivers them (mmi::patterns::HeadHeatmap); each head's report is made after the pre-fill from what ran and
// the backend's statistics: the pattern's tile density over its heads, the recall its heatmap measured (heatmap
// heads, sparse ones), no per-head times (the GPU runs the heads of a kv head in one call). The recall floor needs
// the CPU backend's per-head hook and is refused with a message saying so.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "mmi.h"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/prefill.hpp"
#include "mmi/runtime/video_model.hpp"

namespace mmi::capi {

class GpuPrefill {
 public:
  // cached: tokens already in the session; count: tokens this pre-fill appends; on_heatmap receives the heatmaps
  // (may be empty). Throws runtime::Error(InvalidInput) for a recall floor or a heatmap head out of range,
  // patterns::Error for a file of another model's shape.
  GpuPrefill(const runtime::VideoModel& model, const mmi_attention_options& options, int64_t cached, int64_t count,
             std::function<void(const patterns::HeadHeatmap&)> on_heatmap);
  GpuPrefill(const GpuPrefill&) = delete;  // the heatmap request's callback holds `this`
  GpuPrefill& operator=(const GpuPrefill&) = delete;

  // For PrefillInput::patterns: null when every head runs dense (the GPU's dense path takes any head dim).
  const runtime::HeadPatterns* patterns() const { return sparse_ ? &patterns_ : nullptr; }
  // For PrefillInput::heatmaps: null when none are wanted (or the pre-fill continues a cache).
  const runtime::HeatmapRequest* heatmaps() const { return heatmaps_.heads.empty() ? nullptr : &heatmaps_; }

  // Calls options.on_head for every (layer, head) in order, after the pre-fill.
  void report(const runtime::RunStats& stats, const mmi_attention_options& options) const;

 private:
  const patterns::PatternFile* file_;
  runtime::HeadPatterns patterns_;
  runtime::HeatmapRequest heatmaps_;
  std::function<void(const patterns::HeadHeatmap&)> on_heatmap_;
  std::map<std::pair<int64_t, int64_t>, double> recall_;  // heatmap heads that ran sparse: the recall measured
  int64_t cached_, count_, dense_below_;
  bool sparse_ = false;
};

}  // namespace mmi::capi
