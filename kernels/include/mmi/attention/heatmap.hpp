// Heatmaps of attention for researchers (docs/algorithm.md §7): for chosen heads, the exact softmax rows (float64) of S
// sampled query positions, pooled into a G×G grid of attention mass, in original order and in the index's kernel
// (permuted) order, with the mask pooled the same way, its coverage and its recall.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::attention {

struct HeatmapOptions {
  int64_t samples = 256;  // query rows sampled evenly over [0, n), first and last included
  int64_t grid = 256;     // G
  bool causal = true;
  float scale = 0.0f;
};

struct Heatmap {
  int64_t head = 0;
  int64_t grid = 0;
  std::vector<int64_t> rows;          // the sampled original row positions, ascending
  // G×G row-major; cell (i, j) = mean over the sampled rows in row bin i of the attention mass in key bin j
  // (bins: position * G / n). Row bins without a sampled row hold zeros (row_samples says which).
  std::vector<float> mass, mass_permuted;
  // G×G: share of the sampled rows' (row, key) pairs in the cell, causal ones only, that the mask keeps.
  std::vector<float> mask, mask_permuted;
  std::vector<int32_t> row_samples, row_samples_permuted;  // sampled rows per row bin
  double recall = 0.0;    // attention mass inside the mask, mean over sampled rows
  double coverage = 0.0;  // kept pairs / causal pairs over the sampled rows
};

// index[h] is query head h's index (index.size() == Hq). Heads are checked against Hq. Cancel checked per head.
std::vector<Heatmap> heatmaps(const HeadsView& q, const HeadsView& k, std::span<const SparseIndex> index,
                              std::span<const int64_t> heads, const HeatmapOptions& options = {},
                              const RunControl& control = {});

// The sampled rows for n tokens: min(samples, n) positions evenly spread, 0 and n-1 included.
std::vector<int64_t> sample_rows(int64_t n, int64_t samples);

// Recall of an index on given original rows: mean over rows of the dense softmax mass the mask keeps.
double recall(const HeadsView& q, const HeadsView& k, int64_t head, const SparseIndex& index,
              std::span<const int64_t> rows, bool causal = true, float scale = 0.0f);

}  // namespace mmi::attention
