// The per-head sparse pre-fill: the runtime's PrefillAttention hook driven by a pattern file. For each (layer, head)
// it estimates the head's sparse index on this prompt (the attention core's online estimation, with the prompt's
// modality layout), runs the sparse kernel, and reports what it did; optionally it measures the estimated index's
// recall on sampled rows and falls back to dense under a floor, and captures heatmaps of chosen heads.
//
//   auto file = std::make_shared<const PatternFile>(load_pattern_file(path, &identity));
//   SparsePrefillOptions options;
//   options.heatmaps = {{0, 3}};
//   options.on_heatmap = [](const HeadHeatmap& h) { /* copy and queue; called from worker threads */ };
//   SparsePrefill attention(*model, file, options);
//   session.prefill({ids, positions, features, grids, &attention}, control);
//   for (const HeadReport& r : attention.reports()) { /* pattern, density, timings per head */ }
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/video_model.hpp"

namespace mmi::patterns {

// Why a head ran dense (none: it ran its sparse pattern).
enum class DenseReason : std::uint8_t {
  none = 0,
  no_pattern_file,    // the hook has no file: every head dense
  pattern_is_dense,   // the file says dense
  short_prompt,       // N below SparsePrefillOptions::dense_below_tokens
  recall_floor,       // the estimated index kept less than SparsePrefillOptions::recall_floor
  continued_queries,  // queries that continue a KV cache (follow-ups): the sparse kernel needs a fresh pre-fill
};
const char* dense_reason_name(DenseReason reason);

struct HeadReport {
  std::int64_t layer = 0;
  std::int64_t head = 0;
  attention::Pattern planned = attention::Pattern::dense;  // the file's pattern
  attention::Pattern applied = attention::Pattern::dense;  // what ran
  DenseReason reason = DenseReason::none;
  std::int64_t queries = 0;  // rows pre-filled
  std::int64_t keys = 0;     // N: the whole sequence
  double density = 1.0;      // kept (row, key) pairs / causal pairs of what ran
  // The estimated index's recall on sampled rows (dense attention mass it keeps), when measured: by the recall
  // floor, or by the head's heatmap.
  std::optional<double> recall;
  double estimation_ms = 0.0;    // index estimation (and recall measurement)
  double attention_ms = 0.0;
};

struct HeadHeatmap {
  std::int64_t layer = 0;
  std::int64_t head = 0;
  std::int64_t tokens = 0;  // N: bins are position · grid / N
  attention::Pattern pattern = attention::Pattern::dense;  // applied
  std::vector<attention::GridChoice> grid;                 // the grid estimator's choices (grid heads)
  attention::Heatmap heatmap;  // original and kernel order, mask coverage and recall; heatmap.head is `head`
};

struct HeadRef {
  std::int64_t layer = 0;
  std::int64_t head = 0;
};

// Prompts shorter than this run dense unless told otherwise: below it the estimation and the block granularity cost
// more than they save (docs/algorithm.md §8; measure per GPU). The C API reports it (mmi_default_dense_below_tokens).
inline constexpr std::int64_t kDenseBelowTokens = 16384;

struct SparsePrefillOptions {
  std::int64_t dense_below_tokens = kDenseBelowTokens;  // shorter prompts run dense
  double recall_floor = 0.0;                // 0: off; else heads whose estimated recall is lower run dense
  std::int64_t recall_samples = 32;         // rows the recall floor is measured on
  std::vector<HeadRef> heatmaps;            // heads whose heatmaps on_heatmap receives (fresh pre-fills only)
  attention::HeatmapOptions heatmap_options;
  // Called from the runtime's worker threads, one call at a time. Exceptions they throw abort the pre-fill.
  std::function<void(const HeadHeatmap&)> on_heatmap;
  std::function<void(const HeadReport&)> on_head;
  const std::atomic<bool>* cancel = nullptr;  // pass the session's flag: heads stop early when it is raised
};

// The GPU backend's form of a file for a prompt of n tokens (PrefillInput::patterns): every head's configuration,
// all dense when there is no file or n is below dense_below_tokens. The GPU runs every pattern.
// Throws Error(WrongModel / WrongShape) when the file's sizes are not the model's.
runtime::HeadPatterns head_patterns(const runtime::VideoModel& model, const PatternFile* file, std::int64_t n,
                                       std::int64_t dense_below_tokens = kDenseBelowTokens);

class SparsePrefill final : public runtime::PrefillAttention {
 public:
  // `file` may be null (every head dense). Throws Error(WrongModel / WrongShape) when the file's sizes are not the
  // model's (the config hash is load_pattern_file's business), Error(InvalidInput) for a heatmap head out of range
  // or negative options.
  SparsePrefill(const runtime::VideoModel& model, std::shared_ptr<const PatternFile> file,
                SparsePrefillOptions options = {});

  // Errors: mmi::runtime::Error (Cancelled, NonFinite, Internal), like the runtime's own attention.
  void run(const runtime::AttentionCall& call) const override;

  // The heads that ran since construction or the last clear_reports(), ordered by (layer, head); a head that ran
  // again (a follow-up pre-fill) shows its latest run.
  std::vector<HeadReport> reports() const;
  void clear_reports();

 private:
  void run_head(const runtime::AttentionCall& call) const;
  void deliver(HeadReport report, const HeadHeatmap* heatmap) const;
  bool wants_heatmap(std::int64_t layer, std::int64_t head) const;

  std::shared_ptr<const PatternFile> file_;
  SparsePrefillOptions options_;
  std::int64_t layers_ = 0, heads_ = 0;
  mutable std::mutex mu_;
  mutable std::vector<std::optional<HeadReport>> reports_;
};

}  // namespace mmi::patterns
