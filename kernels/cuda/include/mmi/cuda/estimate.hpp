// Online index estimation on the GPU (ALGORITHM.md §3-4), for all heads at once: the attention mass of a prompt's
// last rows per key column and per diagonal, vertical-slash selection from it, and the grid pattern (period and
// phases per video run, phase-major permutation, index in the permuted order). The choices follow the CPU core's
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

}  // namespace mmi::cuda
