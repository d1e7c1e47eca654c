// Online index estimation on the GPU (docs/algorithm.md §4), for all heads at once: the attention mass of a prompt's
// last rows per key column and per diagonal, vertical-slash selection from it, the grid pattern (period and phases
// per video run, phase-major permutation, index in the permuted order), block-sparse (pooled block scores, top-k per
// query block) and the two boundary patterns (vertical-slash per region of the modality order). The choices follow the CPU core's
// decisions (kernels/README.md) so the two can be compared; the CPU core stays the reference.
// Every function here queues its work and copies on `stream` and returns once the stream has finished them (a
// non-blocking stream is fine); errors are mmi::cuda::Error, kind InvalidArgument for arguments beyond the limits.
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/runtime.hpp"

namespace mmi::cuda {

inline constexpr int64_t kEstimateRows = 64;   // rows whose attention drives the estimation
inline constexpr int64_t kForcedColumns = 30;  // vertical-slash: first key columns always kept
inline constexpr int64_t kForcedSlashes = 100; // vertical-slash: diagonals 0..99 always kept
inline constexpr int64_t kMaxGridLines = 16;    // grid: phase lines per video run the GPU index keeps
inline constexpr int64_t kMaxGridRuns = 8;      // grid: video runs per prompt the GPU index keeps

// Causal softmax of rows [row_end - rows, row_end) (rows = min(64, row_end - key_begin)) over all keys up to each
// row, summed per key column (column[h][k - key_begin], k in [key_begin, row_end)) and per diagonal
// (diagonal[h][o], o = row - key in [0, row_end - key_begin)) over keys k >= key_begin.
struct RowsMass {
  int32_t heads = 0;
  int64_t length = 0;  // row_end - key_begin
  DeviceBuffer<float> column, diagonal;  // [heads, length]
};
RowsMass last_rows_mass(const AttentionShape& shape, const void* q, const void* k, int64_t key_begin, int64_t row_end,
                        Stream stream = nullptr);

// Vertical-slash lists per head from the mass of the last rows over the whole prompt: forced first columns and
// nearest diagonals, then the highest scores (ties: lower position / smaller offset), ascending, -1 padded.
struct VerticalSlashLists {
  int32_t heads = 0;
  int32_t vertical_width = 0, slash_width = 0;
  DeviceBuffer<int32_t> verticals, slashes;  // [heads, width]
};
VerticalSlashLists select_vertical_slash(const RowsMass& mass, int64_t vertical_budget, int64_t slash_budget,
                                         Stream stream = nullptr);

// Estimation + index: the whole vertical-slash pattern for every head.
DeviceIndex estimate_vertical_slash(const AttentionShape& shape, const void* q, const void* k, int64_t vertical_budget,
                                    int64_t slash_budget, Stream stream = nullptr);

// A video run of the modality layout: `start`, `length` tokens, `period` = h*w tokens per temporal patch.
struct VideoRunSpec {
  int64_t start = 0, length = 0, period = 0;
};
// The grid choice for one run and head: the stride, the phases kept as vertical lines (ascending), the score.
struct GridRunChoice {
  int64_t start = 0, length = 0, stride = 1;
  std::vector<int64_t> phases;
  double score = 0.0;
};
// choices[h][r] for head h and run r: candidate strides (divisors of the period and 2-4x multiples, at most half the
// run) scored by line excess + slash excess on the run's last rows, the layout's period favoured by 0.02.
// lines in [0, kMaxGridLines] and at most kMaxGridRuns runs (what grid_index takes), else Error(InvalidArgument).
std::vector<std::vector<GridRunChoice>> estimate_grid(const AttentionShape& shape, const void* q, const void* k,
                                                      const std::vector<VideoRunSpec>& runs, int64_t lines,
                                                      Stream stream = nullptr);
// The grid index for given choices: each run permuted phase-major (token start + f*stride + r -> kernel position
// start + offset(r) + f), rows and keys alike; per query block the sinks (first `sinks` tokens), a band in kernel
// order reaching back `local` keys or to the start of each row's phase run, and every line phase's run; nothing
// wholly after the query block's latest row (original positions). At most kMaxGridLines phases per run, kMaxGridRuns
// runs and 256 sinks.
DeviceIndex grid_index(int64_t n, const std::vector<std::vector<GridRunChoice>>& choices, int64_t sinks, int64_t local,
                       Stream stream = nullptr);

// Block-sparse (docs/algorithm.md §4.3): q and k mean-pooled over 64-token blocks (in fp32), block score
// q̄_i · k̄_j · scale for j <= i, the top `top_k` key blocks of each query block with the first and the diagonal
// always among them; ties go to the lower block. No permutation. top_k >= N/64 keeps every causal block.
DeviceIndex estimate_block_sparse(const AttentionShape& shape, const void* q, const void* k, int64_t top_k,
                                  Stream stream = nullptr);

// A prompt's modality order on the device (docs/algorithm.md §4.5-4.6): text tokens first, then video tokens, each
// in original order. Made once per prompt; the boundary estimators read it.
struct ModalitySpan {
  int64_t start = 0, length = 0;
  bool video = false;
};
class ModalityOrder {
 public:
  ModalityOrder() = default;
  // spans cover [0, n) in order, without gaps. Throws Error(InvalidArgument) otherwise.
  ModalityOrder(int64_t n, const std::vector<ModalitySpan>& spans, Stream stream = nullptr);

  int64_t n() const { return n_; }
  int64_t text_tokens() const { return text_; }  // kernel positions [0, text) are the text tokens
  bool identity() const { return identity_; }    // no video token before a text token: nothing moves
  const int32_t* perm() const { return perm_.get(); }        // kernel position -> original token
  const int32_t* inverse() const { return inverse_.get(); }  // original token -> kernel position
  // Original positions of the last min(64, tokens) kernel positions of the text / video group, ascending.
  const std::vector<int32_t>& last_text_rows() const { return last_text_; }
  const std::vector<int32_t>& last_video_rows() const { return last_video_; }

 private:
  int64_t n_ = 0, text_ = 0;
  bool identity_ = true;
  DeviceBuffer<int32_t> perm_, inverse_;
  std::vector<int32_t> last_text_, last_video_;
};

struct VerticalSlashBudget {
  int64_t vertical = 0, slash = 0;
};

// Q-boundary (§4.5): rows in the modality order, keys in original order; text rows and video rows each get a
// vertical-slash selection estimated from the last 64 rows of their group over all keys. Slashes are diagonals of
// the original matrix.
DeviceIndex estimate_q_boundary(const AttentionShape& shape, const void* q, const void* k, const ModalityOrder& order,
                                VerticalSlashBudget text_rows, VerticalSlashBudget video_rows,
                                Stream stream = nullptr);

// 2D-boundary (§4.6): rows and keys in the modality order; four regions (text→text, text→video, video→text,
// video→video), each a vertical-slash selection in the permuted coordinates from the last 64 rows of its row group,
// restricted to its key group (the forced columns are the group's first 30).
struct BoundaryBudgets {
  VerticalSlashBudget text_to_text, text_to_video, video_to_text, video_to_video;
};
DeviceIndex estimate_2d_boundary(const AttentionShape& shape, const void* q, const void* k, const ModalityOrder& order,
                                 const BoundaryBudgets& budgets, Stream stream = nullptr);

}  // namespace mmi::cuda
