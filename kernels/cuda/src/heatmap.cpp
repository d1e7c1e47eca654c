// The host half of the GPU heatmaps: the rows pooled on the GPU (heatmap.cu) averaged into the G×G grids, as the CPU
// core does in kernels/cpu/src/heatmap.cpp.
#include "mmi/cuda/heatmap.hpp"

#include <string>

#include "heatmap_rows.hpp"

namespace mmi::cuda {

std::vector<attention::Heatmap> heatmaps(const AttentionShape& shape, const void* q, const void* k,
                                         const DeviceIndexView& index, std::span<const int64_t> heads,
                                         const attention::HeatmapOptions& options, Stream stream) {
  if (options.samples < 1) throw Error("heatmaps: samples must be >= 1, got " + std::to_string(options.samples));
  const std::vector<int64_t> rows = attention::sample_rows(shape.n, options.samples);
  const std::vector<int64_t> chosen(heads.begin(), heads.end());
  const detail::HeatmapRowSums sums =
      detail::heatmap_row_sums(shape, q, k, index, chosen, rows, options.grid, options.causal, stream);
  const int64_t n = shape.n, g = options.grid;
  const auto cells = static_cast<size_t>(g * g);
  const auto row_count = static_cast<int64_t>(rows.size());
  auto bin = [&](int64_t position) { return static_cast<size_t>(position * g / n); };
  std::vector<attention::Heatmap> out(chosen.size());
  for (size_t which = 0; which < chosen.size(); ++which) {
    attention::Heatmap& hm = out[which];
    hm.head = chosen[which];
    hm.grid = g;
    hm.rows = rows;
    hm.row_samples.assign(static_cast<size_t>(g), 0);
    hm.row_samples_permuted.assign(static_cast<size_t>(g), 0);
    std::vector<double> mass(cells, 0.0), mass_p(cells, 0.0);
    std::vector<int64_t> pairs(cells, 0), pairs_p(cells, 0), kept(cells, 0), kept_p(cells, 0);
    double recall = 0.0;
    int64_t kept_total = 0, pairs_total = 0;
    for (int64_t i = 0; i < row_count; ++i) {
      const auto at = static_cast<size_t>(static_cast<int64_t>(which) * row_count + i);
      const size_t rb = bin(rows[static_cast<size_t>(i)]), rbp = bin(sums.kernel_row[at]);
      ++hm.row_samples[rb];
      ++hm.row_samples_permuted[rbp];
      recall += sums.recall[at];
      for (int64_t kb = 0; kb < g; ++kb) {
        const auto from = at * static_cast<size_t>(g) + static_cast<size_t>(kb);
        const size_t cell = rb * static_cast<size_t>(g) + static_cast<size_t>(kb);
        const size_t cell_p = rbp * static_cast<size_t>(g) + static_cast<size_t>(kb);
        mass[cell] += sums.mass[from];
        mass_p[cell_p] += sums.mass_permuted[from];
        pairs[cell] += sums.pairs[from];
        pairs_p[cell_p] += sums.pairs_permuted[from];
        kept[cell] += sums.kept[from];
        kept_p[cell_p] += sums.kept_permuted[from];
        kept_total += sums.kept[from];
        pairs_total += sums.pairs[from];
      }
    }
    hm.mass.assign(cells, 0.0f);
    hm.mass_permuted.assign(cells, 0.0f);
    hm.mask.assign(cells, 0.0f);
    hm.mask_permuted.assign(cells, 0.0f);
    for (size_t c = 0; c < cells; ++c) {
      const int32_t rows_here = hm.row_samples[c / static_cast<size_t>(g)];
      const int32_t rows_here_p = hm.row_samples_permuted[c / static_cast<size_t>(g)];
      if (rows_here > 0) hm.mass[c] = static_cast<float>(mass[c] / rows_here);
      if (rows_here_p > 0) hm.mass_permuted[c] = static_cast<float>(mass_p[c] / rows_here_p);
      if (pairs[c] > 0) hm.mask[c] = static_cast<float>(static_cast<double>(kept[c]) / static_cast<double>(pairs[c]));
      if (pairs_p[c] > 0) {
        hm.mask_permuted[c] = static_cast<float>(static_cast<double>(kept_p[c]) / static_cast<double>(pairs_p[c]));
      }
    }
    hm.recall = recall / static_cast<double>(row_count);
    hm.coverage = pairs_total > 0 ? static_cast<double>(kept_total) / static_cast<double>(pairs_total) : 0.0;
  }
  return out;
}

}  // namespace mmi::cuda
