// A pre-fill's attention options on a model that runs on the GPU. The pattern file becomes the per-head patterns of
// a fresh pre-fill (mmi::patterns::head_patterns: the GPU runs dense, A-shape, vertical-slash and grid heads and the
// runtime refuses the others with the head named); each head's report is made after the pre-fill from what ran and
// the backend's statistics: the pattern's tile density over its heads, no recall and no per-head times (the GPU
// runs the heads of a kv head in one call). Heatmaps and the recall floor need the CPU backend's per-head hook and
// are refused with a message saying so.
#pragma once

#include <cstdint>

#include "mmi.h"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/video_model.hpp"

namespace mmi::capi {

class GpuPrefill {
 public:
  // cached: tokens already in the session; count: tokens this pre-fill appends. Throws runtime::Error(InvalidInput)
  // for heatmaps or a recall floor, patterns::Error for a file of another model's shape.
  GpuPrefill(const runtime::VideoModel& model, const mmi_attention_options& options, int64_t cached, int64_t count);

  // For PrefillInput::patterns: null when every head runs dense (the GPU's dense path takes any head dim).
  const runtime::HeadPatterns* patterns() const { return sparse_ ? &patterns_ : nullptr; }

  // Calls options.on_head for every (layer, head) in order, after the pre-fill.
  void report(const runtime::RunStats& stats, const mmi_attention_options& options) const;

 private:
  const patterns::PatternFile* file_;
  runtime::HeadPatterns patterns_;
  int64_t cached_, count_, dense_below_;
  bool sparse_ = false;
};

}  // namespace mmi::capi
