#include "mmi/attention/heatmap.hpp"

#include <algorithm>
#include <string>

#include "estimation.hpp"
#include "reference.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"

namespace mmi::attention {

std::vector<int64_t> sample_rows(int64_t n, int64_t samples) {
  const int64_t s = std::min(samples, n);
  std::vector<int64_t> rows;
  if (s <= 0) return rows;
  if (s == 1) return {n - 1};
  for (int64_t j = 0; j < s; ++j) rows.push_back(j * (n - 1) / (s - 1));
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

namespace {

// Attention rows of one head; causal softmax (float64), or non-causal over all keys.
void for_each_row(const HeadsView& q, const HeadsView& k, int64_t head, std::span<const int64_t> rows, bool causal,
                  double scale, const std::function<void(size_t, std::span<const double>)>& f) {
  if (causal) {
    detail::for_each_attention_row(q, k, head, rows, scale, f);
    return;
  }
  std::vector<int64_t> all(static_cast<size_t>(q.n));
  for (int64_t i = 0; i < q.n; ++i) all[static_cast<size_t>(i)] = i;
  std::vector<double> w;
  for (size_t i = 0; i < rows.size(); ++i) {
    detail::softmax_f64(q, k, head, head / (q.heads / k.heads), rows[i], all, scale, w);
    f(i, w);
  }
}

}  // namespace

double recall(const HeadsView& q, const HeadsView& k, int64_t head, const SparseIndex& index,
              std::span<const int64_t> rows, bool causal, float scale) {
  validate_qk(q, k, false);
  validate_index(index, q.n);
  require(head >= 0 && head < q.heads, "head " + std::to_string(head) + " is out of range");
  for (int64_t r : rows) require(r >= 0 && r < q.n, "row " + std::to_string(r) + " is out of range");
  if (rows.empty()) return 0.0;
  const MaskRows mask(index, causal);
  std::vector<uint8_t> kept;
  double total = 0.0;
  for_each_row(q, k, head, rows, causal, resolve_scale(scale, q.dim), [&](size_t i, std::span<const double> w) {
    mask.keep(rows[i], kept);
    for (size_t key = 0; key < w.size(); ++key) total += kept[key] ? w[key] : 0.0;
  });
  return total / static_cast<double>(rows.size());
}

std::vector<Heatmap> heatmaps(const HeadsView& q, const HeadsView& k, std::span<const SparseIndex> index,
                              std::span<const int64_t> heads, const HeatmapOptions& options,
                              const RunControl& control) {
  validate_qk(q, k, true);
  require(static_cast<int64_t>(index.size()) == q.heads, "expected one index per query head (" +
                                                             std::to_string(q.heads) + "), got " +
                                                             std::to_string(index.size()));
  require(options.grid >= 1 && options.grid <= 4096, "heatmap grid must be in [1, 4096], got " +
                                                         std::to_string(options.grid));
  require(options.samples >= 1, "heatmap samples must be >= 1, got " + std::to_string(options.samples));
  for (int64_t h : heads) {
    require(h >= 0 && h < q.heads, "heatmap head " + std::to_string(h) + " is out of range [0, " +
                                       std::to_string(q.heads) + ")");
    validate_index(index[static_cast<size_t>(h)], q.n, "index of head " + std::to_string(h));
  }
  const double scale = resolve_scale(options.scale, q.dim);
  const int64_t n = q.n, g = options.grid;
  std::vector<Heatmap> out(heads.size());
  parallel_for(static_cast<int64_t>(heads.size()), control, [&](int64_t which) {
    const int64_t h = heads[static_cast<size_t>(which)];
    const SparseIndex& idx = index[static_cast<size_t>(h)];
    Heatmap& hm = out[static_cast<size_t>(which)];
    hm.head = h;
    hm.grid = g;
    hm.rows = sample_rows(n, options.samples);
    const auto cells = static_cast<size_t>(g * g);
    hm.mass.assign(cells, 0.0f);
    hm.mass_permuted.assign(cells, 0.0f);
    hm.mask.assign(cells, 0.0f);
    hm.mask_permuted.assign(cells, 0.0f);
    hm.row_samples.assign(static_cast<size_t>(g), 0);
    hm.row_samples_permuted.assign(static_cast<size_t>(g), 0);
    const std::vector<int32_t> row_inverse = inverse_permutation(idx.row_perm);
    const std::vector<int32_t> col_inverse = inverse_permutation(idx.col_perm);
    auto bin = [&](int64_t position) { return static_cast<size_t>(position * g / n); };
    // Per cell sums in float64: mass, kept pairs, causal pairs.
    std::vector<double> mass(cells, 0.0), mass_p(cells, 0.0);
    std::vector<double> kept_pairs(cells, 0.0), kept_pairs_p(cells, 0.0), pairs(cells, 0.0), pairs_p(cells, 0.0);
    const MaskRows mask(idx, options.causal);
    std::vector<uint8_t> kept;
    double recall_sum = 0.0, kept_total = 0.0, pairs_total = 0.0;
    for_each_row(q, k, h, hm.rows, options.causal, scale, [&](size_t i, std::span<const double> w) {
      const int64_t r = hm.rows[i];
      const size_t rb = bin(r), rbp = bin(row_inverse.empty() ? r : row_inverse[static_cast<size_t>(r)]);
      ++hm.row_samples[rb];
      ++hm.row_samples_permuted[rbp];
      mask.keep(r, kept);
      for (size_t key = 0; key < w.size(); ++key) {
        const size_t kb = bin(static_cast<int64_t>(key));
        const size_t kbp = bin(col_inverse.empty() ? static_cast<int64_t>(key) : col_inverse[key]);
        mass[rb * static_cast<size_t>(g) + kb] += w[key];
        mass_p[rbp * static_cast<size_t>(g) + kbp] += w[key];
        pairs[rb * static_cast<size_t>(g) + kb] += 1.0;
        pairs_p[rbp * static_cast<size_t>(g) + kbp] += 1.0;
        if (kept[key]) {
          recall_sum += w[key];
          kept_pairs[rb * static_cast<size_t>(g) + kb] += 1.0;
          kept_pairs_p[rbp * static_cast<size_t>(g) + kbp] += 1.0;
          kept_total += 1.0;
        }
      }
      pairs_total += static_cast<double>(w.size());
    });
    for (size_t c = 0; c < cells; ++c) {
      const int32_t rows_here = hm.row_samples[c / static_cast<size_t>(g)];
      const int32_t rows_here_p = hm.row_samples_permuted[c / static_cast<size_t>(g)];
      if (rows_here > 0) hm.mass[c] = static_cast<float>(mass[c] / rows_here);
      if (rows_here_p > 0) hm.mass_permuted[c] = static_cast<float>(mass_p[c] / rows_here_p);
      if (pairs[c] > 0) hm.mask[c] = static_cast<float>(kept_pairs[c] / pairs[c]);
      if (pairs_p[c] > 0) hm.mask_permuted[c] = static_cast<float>(kept_pairs_p[c] / pairs_p[c]);
    }
    hm.recall = recall_sum / static_cast<double>(hm.rows.size());
    hm.coverage = pairs_total > 0 ? kept_total / pairs_total : 0.0;
  });
  return out;
}

}  // namespace mmi::attention
