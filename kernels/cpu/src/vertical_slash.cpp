#include <algorithm>
#include <limits>
#include <numeric>

#include "estimation.hpp"
#include "mmi/attention/index.hpp"
#include "reference.hpp"

namespace mmi::attention::detail {

void for_each_attention_row(const HeadsView& q, const HeadsView& k, int64_t head, std::span<const int64_t> rows,
                            double scale, const std::function<void(size_t, std::span<const double>)>& f) {
  const int64_t kv_head = head / (q.heads / k.heads);
  std::vector<int64_t> keys;
  std::vector<double> w;
  for (size_t i = 0; i < rows.size(); ++i) {
    keys.resize(static_cast<size_t>(rows[i] + 1));
    std::iota(keys.begin(), keys.end(), 0);
    softmax_f64(q, k, head, kv_head, rows[i], keys, scale, w);
    f(i, w);
  }
}

AttentionRows::AttentionRows(const HeadsView& q, const HeadsView& k, int64_t head, double scale, bool keep)
    : q_(q), k_(k), head_(head), scale_(scale), keep_(keep) {}

void AttentionRows::for_each(std::span<const int64_t> rows,
                             const std::function<void(size_t, std::span<const double>)>& f) {
  if (!keep_) {
    for_each_attention_row(q_, k_, head_, rows, scale_, f);
    return;
  }
  std::vector<int64_t> missing;
  for (int64_t r : rows) {
    if (!kept_.contains(r)) missing.push_back(r);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  for_each_attention_row(q_, k_, head_, missing, scale_, [&](size_t i, std::span<const double> w) {
    kept_.emplace(missing[i], std::vector<double>(w.begin(), w.end()));
  });
  for (size_t i = 0; i < rows.size(); ++i) f(i, kept_.at(rows[i]));
}

std::vector<int64_t> top_indices(std::span<const double> scores, int64_t count) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  count = std::clamp<int64_t>(count, 0, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + count, order.end(), [&](int64_t a, int64_t b) {
    const double sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    return sa != sb ? sa > sb : a < b;
  });
  order.resize(static_cast<size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

RowKeyCoordinate::RowKeyCoordinate(const IndexBuilder& builder)
    : row_perm_(builder.row_perm()), col_inverse_(inverse_permutation(builder.col_perm())) {}

int64_t RowKeyCoordinate::operator()(int64_t kernel_row) const {
  const int64_t token = through(row_perm_, kernel_row);
  return col_inverse_.empty() ? token : col_inverse_[static_cast<size_t>(token)];
}

VerticalSlashScores score_vertical_slash(AttentionRows& attention, const IndexBuilder& builder,
                                         const RowKeyCoordinate& coord, const Region& region) {
  const int64_t n = builder.n();
  const int64_t width = region.key_end - region.key_begin;
  VerticalSlashScores out;
  if (region.row_end <= region.row_begin || width <= 0) return out;

  std::vector<int64_t> est_rows;  // original positions of the region's last rows
  std::vector<int64_t> est_coord;
  for (int64_t p = std::max(region.row_begin, region.row_end - kLastQueries); p < region.row_end; ++p) {
    est_rows.push_back(through(builder.row_perm(), p));
    est_coord.push_back(coord(p));
  }
  const std::vector<int32_t> col_inverse = inverse_permutation(builder.col_perm());
  // Column scores over the region's keys; slash scores over offsets -(n-1)..(n-1), stored at offset + n - 1.
  out.vertical.assign(static_cast<size_t>(width), 0.0);
  std::vector<double> slash(static_cast<size_t>(2 * n - 1), 0.0);
  attention.for_each(est_rows, [&](size_t i, std::span<const double> w) {
    for (size_t key = 0; key < w.size(); ++key) {
      const int64_t c = col_inverse.empty() ? static_cast<int64_t>(key) : col_inverse[key];
      if (c < region.key_begin || c >= region.key_end) continue;
      out.vertical[static_cast<size_t>(c - region.key_begin)] += w[key];
      slash[static_cast<size_t>(est_coord[i] - c + n - 1)] += w[key];
    }
  });

  constexpr double kForced = std::numeric_limits<double>::infinity();
  const int64_t forced_columns = std::min(kSinkColumns, width);
  for (int64_t c = 0; c < forced_columns; ++c) out.vertical[static_cast<size_t>(c)] = kForced;
  for (int64_t o = 0; o < std::min(kLocalSlashes, n); ++o) slash[static_cast<size_t>(o + n - 1)] = kForced;
  out.slash.resize(slash.size());
  for (size_t i = 0; i < slash.size(); ++i) {
    out.slash[i] = slash[static_cast<size_t>(ranked_offset(static_cast<int64_t>(i)) + n - 1)];
  }
  return out;
}

VerticalSlash select_vertical_slash(const VerticalSlashScores& scores, const Region& region,
                                    const VerticalSlashBudget& budget) {
  VerticalSlash out;
  if (scores.vertical.empty()) return out;
  const auto n = static_cast<int64_t>(scores.slash.size() + 1) / 2;
  const int64_t forced_columns = std::min(kSinkColumns, static_cast<int64_t>(scores.vertical.size()));
  for (int64_t c : top_indices(scores.vertical, std::max(budget.vertical, forced_columns))) {
    out.columns.push_back(region.key_begin + c);
  }
  for (int64_t i : top_indices(scores.slash, std::max(budget.slash, std::min(kLocalSlashes, n)))) {
    out.offsets.push_back(ranked_offset(i));
  }
  std::sort(out.offsets.begin(), out.offsets.end());
  return out;
}

void apply_vertical_slash(IndexBuilder& builder, const RowKeyCoordinate& coord, const Region& region,
                          const VerticalSlash& selection) {
  // Consecutive offsets form one band: [oa, ob] covers keys [c0 - ob, c1 - oa] for a run of rows c0..c1.
  std::vector<std::pair<int64_t, int64_t>> bands;
  for (int64_t o : selection.offsets) {
    if (!bands.empty() && bands.back().second + 1 == o) {
      bands.back().second = o;
    } else {
      bands.emplace_back(o, o);
    }
  }
  std::vector<int64_t> coords;
  for (int64_t qb = 0; qb < builder.blocks(); ++qb) {
    const int64_t a = std::max(region.row_begin, qb * kBlock);
    const int64_t b = std::min(region.row_end, (qb + 1) * kBlock);
    if (a >= b) continue;
    coords.clear();
    for (int64_t p = a; p < b; ++p) coords.push_back(coord(p));
    std::sort(coords.begin(), coords.end());
    for (size_t s = 0; s < coords.size();) {
      size_t e = s + 1;
      while (e < coords.size() && coords[e] == coords[e - 1] + 1) ++e;
      const int64_t c0 = coords[s], c1 = coords[e - 1];
      for (const auto& [oa, ob] : bands) {
        builder.add_range(qb, std::max(region.key_begin, c0 - ob), std::min(region.key_end, c1 - oa + 1));
      }
      s = e;
    }
    for (int64_t c : selection.columns) builder.add_column(qb, c);
  }
}

}  // namespace mmi::attention::detail
