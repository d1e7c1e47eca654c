// The offline pattern search (docs/algorithm.md §9): run the model dense on calibration prompts and, for every layer
// and head, score each candidate pattern by the attention recall its estimated index keeps on sampled rows against the
// kernel tiles it computes; pick per head the highest recall at a cost target (ties: the cheaper estimation) and
// write a pattern file. Deterministic; progress, cancellation, and resumable through a checkpoint file.
//
//   SearchControl control;
//   control.checkpoint = "search.ckpt";   // finished (prompt, layer) results survive an interruption
//   control.on_progress = [](const SearchProgress& p) { /* p.done / p.total */ };
//   PatternFile file = search_patterns(*model, model_identity(*model, dir), prompts, SearchSettings{}, control);
//   save_pattern_file(file, "patterns.json");
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mmi/attention/layout.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/video_model.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::patterns {

// The candidates the search scores when SearchSettings::candidates is empty (README "Candidates"): A-shape at three
// bands, MInference's six vertical-slash budgets (counts at 128K tokens, scaled), block-sparse at three top-k,
// grid at three band/line settings, and Q-boundary and 2D-boundary at the six vertical-slash budgets.
std::vector<HeadPattern> default_candidates();

// How much the estimation of a pattern costs, as a rank (lower is cheaper): a_shape (static) < block_sparse
// (pooled q/k) < vertical_slash (last 64 rows) < grid (last rows per video run, strides) < q_boundary (two
// regions) < two_d_boundary (four regions); dense has nothing to estimate.
int estimation_rank(attention::Pattern pattern);

// Kernel tiles of an index (64×64 key blocks not wholly in the future of their query block, plus its columns
// gathered 64 at a time) over the tiles of dense causal attention.
double kernel_cost(const SparseIndex& index);

struct CandidateScore {
  double recall = 0.0;   // mean over the sampled rows of the dense softmax mass the mask keeps
  double density = 0.0;  // kept (row, key) pairs / causal pairs over the sampled rows
  double cost = 0.0;     // kernel_cost of the estimated index
};

// Scores every candidate for query head `head` of q/k (GQA as in the core). Throws Error(Cancelled) when the flag
// is raised (checked between candidates).
std::vector<CandidateScore> score_candidates(const attention::HeadsView& q, const attention::HeadsView& k,
                                             std::int64_t head, const attention::ModalityLayout& layout,
                                             std::span<const HeadPattern> candidates, std::int64_t recall_samples,
                                             float scale = 0.0f, const std::atomic<bool>* cancel = nullptr);

// The choice for one head from its candidates' mean scores (docs/algorithm.md §9): among candidates whose cost is
// within the target (or, when none is, the cheapest), the highest recall; recalls within tie_tolerance of it tie and
// the lowest estimation_rank wins, then the lower cost, then the earlier candidate. Dense when the chosen recall is
// below dense_below_recall.
HeadEntry choose_pattern(std::span<const HeadPattern> candidates, std::span<const CandidateScore> scores,
                         const SearchSettings& settings);

struct SearchProgress {
  enum class Stage { encoding, scoring, done } stage = Stage::scoring;
  std::int64_t prompt = 0, prompts = 0;  // the prompt being worked on
  std::int64_t layer = 0, layers = 0;    // scoring: the layer just finished
  std::int64_t done = 0, total = 0;      // (prompt, layer) units finished, checkpointed ones included
};

struct SearchControl {
  std::function<void(const SearchProgress&)> on_progress;  // on the calling thread
  const std::atomic<bool>* cancel = nullptr;               // raises Error(Cancelled) within a head's scoring
  // Results of every finished (prompt, layer) are appended here; a later call with the same inputs and settings
  // skips them. Empty: no checkpoint. A checkpoint of other inputs or settings is refused (CheckpointInvalid).
  std::filesystem::path checkpoint;
  int threads = 0;  // threads scoring a layer's heads: 0 = all cores
};

// One calibration prompt for the model, as Conversation::prefill takes it. The video either as features (one row per
// video token, all videos in order) or as pixel values per video (encoded by the search).
struct CalibrationPrompt {
  std::string name;  // recorded in the file (e.g. the video's file name); valid UTF-8
  std::span<const std::int32_t> ids;
  std::span<const std::int64_t> positions;  // 3 × n
  std::vector<runtime::GridTHW> video_grids;
  std::span<const float> video_features;
  std::span<const runtime::PixelValues> videos;
};

// Runs the search on the model, on its device: the CPU or the GPU backend computes the dense pre-fill and shows the
// search every layer's q/k, whose heads are scored on the host's cores. `identity` must describe `model`
// (model_identity()). Errors: Error (InvalidInput, Cancelled, CheckpointInvalid, FileUnwritable),
// mmi::runtime::Error for prompts the model refuses.
PatternFile search_patterns(const runtime::VideoModel& model, const ModelIdentity& identity,
                            std::span<const CalibrationPrompt> prompts, const SearchSettings& settings,
                            const SearchControl& control = {});

// One calibration prompt given directly as post-RoPE q/k per layer (synthetic inputs, or q/k captured elsewhere):
// q[l] is [heads, N, head_dim], k[l] is [kv_heads, N, head_dim].
struct QkPrompt {
  std::string name;
  attention::ModalityLayout layout;
  std::vector<attention::HeadsView> q, k;
  float scale = 0.0f;  // 0: 1/sqrt(head_dim)
};

PatternFile search_patterns_qk(const ModelIdentity& identity, std::span<const QkPrompt> prompts,
                               const SearchSettings& settings, const SearchControl& control = {});

}  // namespace mmi::patterns
