// Internal pieces of the pattern estimators: the last rows' attention, vertical-slash selection on a region of the
// kernel-order attention matrix, and its conversion into index blocks and columns.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "index_builder.hpp"
#include "mmi/attention/patterns.hpp"

namespace mmi::attention::detail {

// Calls f(i, weights) for each original row rows[i], weights[k] = causal softmax of the row over keys 0..rows[i]
// (float64).
void for_each_attention_row(const HeadsView& q, const HeadsView& k, int64_t head, std::span<const int64_t> rows,
                            double scale, const std::function<void(size_t, std::span<const double>)>& f);

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

// Scores columns and diagonals of `region` with the last kLastQueries rows of the region and keeps the budget:
// forced first kSinkColumns columns of the region and offsets [0, kLocalSlashes), then the highest scores (ties:
// lower position, smaller |offset|).
VerticalSlash estimate_vertical_slash(const HeadsView& q, const HeadsView& k, int64_t head, double scale,
                                      const IndexBuilder& builder, const RowKeyCoordinate& coord, const Region& region,
                                      const VerticalSlashBudget& budget);

// Adds a vertical-slash selection to every query block's rows inside the region.
void apply_vertical_slash(IndexBuilder& builder, const RowKeyCoordinate& coord, const Region& region,
                          const VerticalSlash& selection);

// Indices of the `count` highest scores (ties: lower index first), returned ascending.
std::vector<int64_t> top_indices(std::span<const double> scores, int64_t count);

}  // namespace mmi::attention::detail
