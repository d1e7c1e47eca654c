// Internal pieces of the pattern estimators: the last rows' attention, vertical-slash selection on a region of the
// kernel-order attention matrix, and its conversion into index blocks and columns.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "index_builder.hpp"
#include "mmi/attention/patterns.hpp"

namespace mmi::attention::detail {

// Calls f(i, weights) for each original row rows[i], weights[k] = causal softmax of the row over keys 0..rows[i]
// (float64).
void for_each_attention_row(const HeadsView& q, const HeadsView& k, int64_t head, std::span<const int64_t> rows,
                            double scale, const std::function<void(size_t, std::span<const double>)>& f);

// The causal softmax rows of one query head, as for_each_attention_row computes them. With `keep`, each row is
// computed once and kept for later calls (the estimates of several patterns on one head look at the same rows);
// without it, nothing outlives a call. Not for concurrent use.
class AttentionRows {
 public:
  AttentionRows(const HeadsView& q, const HeadsView& k, int64_t head, double scale, bool keep);
  int64_t n() const { return q_.n; }
  void for_each(std::span<const int64_t> rows, const std::function<void(size_t, std::span<const double>)>& f);

 private:
  HeadsView q_, k_;
  int64_t head_;
  double scale_;
  bool keep_;
  std::unordered_map<int64_t, std::vector<double>> kept_;
};

// A region of the kernel-order attention matrix: rows [row_begin, row_end), keys [key_begin, key_end).
struct Region {
  int64_t row_begin, row_end, key_begin, key_end;
};

struct VerticalSlash {
  std::vector<int64_t> columns;  // kernel key positions, ascending
  std::vector<int64_t> offsets;  // slash offsets c(row) - key in kernel key coordinates, ascending
};

// Key coordinate of a kernel row: where the row's own token sits in the kernel's key order. Slashes are diagonals
// of constant c(row) - key.
class RowKeyCoordinate {
 public:
  explicit RowKeyCoordinate(const IndexBuilder& builder);
  int64_t operator()(int64_t kernel_row) const;

 private:
  const std::vector<int32_t>& row_perm_;
  std::vector<int32_t> col_inverse_;
};

// The scores of a region's columns and diagonals from the last kLastQueries rows of the region, the forced ones
// (the region's first kSinkColumns columns, offsets [0, kLocalSlashes)) at +infinity: what every budget's selection
// on the region reads.
struct VerticalSlashScores {
  std::vector<double> vertical;  // per key of the region
  std::vector<double> slash;     // per offset, ranked by |offset| (ranked_offset): nearer diagonals first on ties
};
VerticalSlashScores score_vertical_slash(AttentionRows& attention, const IndexBuilder& builder,
                                         const RowKeyCoordinate& coord, const Region& region);
// The offset at rank i of VerticalSlashScores::slash: 0, -1, 1, -2, 2, ...
inline int64_t ranked_offset(int64_t i) { return i % 2 == 1 ? -(i + 1) / 2 : i / 2; }

// Keeps a budget of the scored region: the forced columns and offsets, then the highest scores (ties: lower
// position, smaller |offset|).
VerticalSlash select_vertical_slash(const VerticalSlashScores& scores, const Region& region,
                                    const VerticalSlashBudget& budget);

// Adds a vertical-slash selection to every query block's rows inside the region.
void apply_vertical_slash(IndexBuilder& builder, const RowKeyCoordinate& coord, const Region& region,
                          const VerticalSlash& selection);

// Indices of the `count` highest scores (ties: lower index first), returned ascending.
std::vector<int64_t> top_indices(std::span<const double> scores, int64_t count);

}  // namespace mmi::attention::detail
