// The sparse patterns of MInference and MMInference (docs/algorithm.md §4) and their online estimation: each turns a
// head's q/k (and the prompt's modality layout) into a SparseIndex. Choices the papers leave open are decided in
// kernels/README.md ("Decisions"); the constants below are those decisions.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/layout.hpp"
#include "mmi/attention/permutation.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::attention {

enum class Pattern : int32_t {
  dense = 0,
  a_shape = 1,
  vertical_slash = 2,
  block_sparse = 3,
  grid = 4,
  q_boundary = 5,
  two_d_boundary = 6,
};
const char* pattern_name(Pattern pattern);

inline constexpr int64_t kLastQueries = 64;   // rows whose attention drives vertical-slash and grid estimation
inline constexpr int64_t kSinkColumns = 30;   // vertical-slash: first key columns always kept
inline constexpr int64_t kLocalSlashes = 100; // vertical-slash: nearest diagonals (offsets 0..99) always kept

// Budgets count the forced columns/diagonals: a budget below the forced count keeps just the forced ones.
struct VerticalSlashBudget {
  int64_t vertical = 1000;
  int64_t slash = 6096;
};

struct PatternConfig {
  Pattern pattern = Pattern::dense;
  int64_t sink_tokens = 128;    // A-shape, grid: first tokens every row keeps
  int64_t local_tokens = 4096;  // A-shape: band before each row; grid: band in the permuted order
  VerticalSlashBudget vertical_slash;  // vertical-slash
  int64_t top_k_blocks = 100;   // block-sparse: key blocks per query block, first and diagonal included
  int64_t grid_lines = 4;       // grid: phases kept as vertical lines, per video run
  VerticalSlashBudget text_rows{1000, 6096};   // Q-boundary: text queries
  VerticalSlashBudget video_rows{1000, 6096};  // Q-boundary: video queries
  VerticalSlashBudget text_to_text{1000, 6096}, text_to_video{1000, 6096};    // 2D-boundary, rows -> keys
  VerticalSlashBudget video_to_text{1000, 6096}, video_to_video{1000, 6096};
};

// Throws Error(InvalidArgument) naming the field when a budget is negative.
void validate_pattern(const PatternConfig& config);

// The grid estimator's choice for one video run, reported with the index (heatmaps, diagnostics).
struct GridChoice {
  GridRun run;                  // start, length, the chosen stride
  int64_t prior = 0;            // the period from the layout (h*w)
  std::vector<int64_t> phases;  // the phases kept as lines, ascending
  double score = 0.0;           // line + slash excess of the chosen stride (see README)
};

struct HeadEstimate {
  SparseIndex index;
  std::vector<GridChoice> grid;  // grid pattern only: one per video run
};

// Estimates one query head's index. `head` is the query head (kv head head / (Hq/Hkv)). Throws Error for bad
// shapes, a layout whose length differs from n, or a bad config.
HeadEstimate estimate_head(const HeadsView& q, const HeadsView& k, int64_t head, const ModalityLayout& layout,
                           const PatternConfig& config, float scale = 0.0f);

// One query head estimated under several configurations (the offline search scores many candidates per head),
// sharing the work they repeat: the softmax rows the estimators look at, a region's vertical-slash scores (one for
// every budget), block-sparse's block scores. estimate(config) equals estimate_head(q, k, head, layout, config, scale)
// bit for bit. What is shared stays until the estimator is destroyed (at 64K tokens some tens of MB per head); q, k
// and layout must outlive it. The constructor checks what estimate_head checks but the config. Not for concurrent
// use.
class HeadEstimator {
 public:
  HeadEstimator(const HeadsView& q, const HeadsView& k, int64_t head, const ModalityLayout& layout,
                float scale = 0.0f);
  ~HeadEstimator();
  HeadEstimator(HeadEstimator&&) noexcept;
  HeadEstimator& operator=(HeadEstimator&&) noexcept;

  HeadEstimate estimate(const PatternConfig& config);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// All query heads, configs[h] for head h (one config for all when configs has one entry), in parallel, cancel
// checked between heads, progress per head. Checks q/k for NaN/Inf once.
std::vector<HeadEstimate> estimate_heads(const HeadsView& q, const HeadsView& k, const ModalityLayout& layout,
                                         std::span<const PatternConfig> configs, float scale = 0.0f,
                                         const RunControl& control = {});

// Building blocks, public for the tests and the GPU engineer's reference checks.

// Causal softmax rows of `rows` (original positions) over all keys, float64, rows.size() × n.
std::vector<double> attention_rows(const HeadsView& q, const HeadsView& k, int64_t head,
                                   std::span<const int64_t> rows, float scale);

// A-shape: sinks + a band of `local` keys before each row, block-rounded.
SparseIndex a_shape_index(int64_t n, int64_t sink_tokens, int64_t local_tokens);
// Block-sparse from mean-pooled q/k.
SparseIndex block_sparse_index(const HeadsView& q, const HeadsView& k, int64_t head, int64_t top_k, float scale);

}  // namespace mmi::attention
