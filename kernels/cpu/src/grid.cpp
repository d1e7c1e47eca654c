// The grid pattern (docs/algorithm.md §4.4; decisions in kernels/README.md): per video run, a period (stride) and the
// phases that carry vertical lines are confirmed on the run's last rows; the run is permuted phase-major so each
// phase becomes a contiguous run of keys; the index keeps the sinks, a band in the permuted order reaching back to
// the start of each row's own phase run (the same spatial position in earlier patches), and the line phases.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "estimation.hpp"
#include "mmi/attention/index.hpp"

namespace mmi::attention::detail {

namespace {

constexpr double kPriorBonus = 0.02;  // the layout's period wins unless another stride scores clearly better

std::vector<int64_t> candidate_strides(int64_t period, int64_t length) {
  std::vector<int64_t> out;
  for (int64_t s = 2; s <= period; ++s) {
    if (period % s == 0) out.push_back(s);
  }
  for (int64_t m = 2; m <= 4; ++m) out.push_back(period * m);
  std::erase_if(out, [&](int64_t s) { return 2 * s > length; });
  return out;
}

// Line excess + slash excess of a stride on the run's column mass c[u] and diagonal mass d[o] (see README).
double stride_score(int64_t s, int64_t lines, std::span<const double> c, std::span<const double> d,
                    std::vector<double>& phase_mass) {
  const auto length = static_cast<int64_t>(c.size());
  phase_mass.assign(static_cast<size_t>(s), 0.0);
  double total = 0.0;
  for (int64_t u = 0; u < length; ++u) {
    phase_mass[static_cast<size_t>(u % s)] += c[static_cast<size_t>(u)];
    total += c[static_cast<size_t>(u)];
  }
  double line = 0.0;
  const int64_t kept = std::min(lines, s);
  if (total > 0.0 && kept > 0) {
    std::vector<double> sorted = phase_mass;
    std::nth_element(sorted.begin(), sorted.begin() + kept - 1, sorted.end(), std::greater<>());
    const double top = std::accumulate(sorted.begin(), sorted.begin() + kept, 0.0);
    line = top / total - static_cast<double>(kept) / static_cast<double>(s);
  }
  double diag_total = 0.0, diag_periodic = 0.0;
  int64_t multiples = 0;
  for (int64_t o = 1; o < length; ++o) {
    diag_total += d[static_cast<size_t>(o)];
    if (o % s == 0) {
      diag_periodic += d[static_cast<size_t>(o)];
      ++multiples;
    }
  }
  const double slash = diag_total > 0.0 && length > 1
                           ? diag_periodic / diag_total - static_cast<double>(multiples) / static_cast<double>(length - 1)
                           : 0.0;
  return line + slash;
}

GridChoice choose_grid(AttentionRows& attention, const VideoRun& run, int64_t lines) {
  const int64_t start = run.start, length = run.length();
  GridChoice choice;
  choice.prior = run.period();
  choice.run = GridRun{start, length, std::min(run.period(), length)};
  const std::vector<int64_t> candidates = candidate_strides(run.period(), length);
  std::vector<int64_t> rows(static_cast<size_t>(std::min(kLastQueries, length)));
  std::iota(rows.begin(), rows.end(), start + length - static_cast<int64_t>(rows.size()));
  std::vector<double> column(static_cast<size_t>(length), 0.0), diagonal(static_cast<size_t>(length), 0.0);
  attention.for_each(rows, [&](size_t i, std::span<const double> w) {
    for (int64_t key = start; key <= rows[i]; ++key) {
      column[static_cast<size_t>(key - start)] += w[static_cast<size_t>(key)];
      diagonal[static_cast<size_t>(rows[i] - key)] += w[static_cast<size_t>(key)];
    }
  });
  std::vector<double> phase_mass;
  double best = -INFINITY;
  for (int64_t s : candidates) {
    const double score = stride_score(s, lines, column, diagonal, phase_mass) + (s == run.period() ? kPriorBonus : 0.0);
    const double distance = std::abs(std::log(static_cast<double>(s) / static_cast<double>(run.period())));
    const double best_distance =
        std::abs(std::log(static_cast<double>(choice.run.stride) / static_cast<double>(run.period())));
    if (score > best || (score == best && distance < best_distance)) {
      best = score;
      choice.run.stride = s;
    }
  }
  choice.score = candidates.empty() ? 0.0 : best - (choice.run.stride == run.period() ? kPriorBonus : 0.0);
  stride_score(choice.run.stride, lines, column, diagonal, phase_mass);
  choice.phases = top_indices(phase_mass, std::min(lines, choice.run.stride));
  return choice;
}

}  // namespace

HeadEstimate grid_estimate(AttentionRows& attention, const ModalityLayout& layout, const PatternConfig& config) {
  const int64_t n = attention.n();
  HeadEstimate est;
  std::vector<GridRun> runs;
  for (const VideoRun& run : layout.video_runs()) {
    est.grid.push_back(choose_grid(attention, run, config.grid_lines));
    runs.push_back(est.grid.back().run);
  }
  std::vector<int32_t> perm = grid_permutation(n, runs);
  IndexBuilder builder(n, perm, perm);
  const std::vector<int32_t> inverse = inverse_permutation(perm);
  // Kernel position where the phase run of each kernel position starts (itself outside video runs).
  std::vector<int64_t> phase_start(static_cast<size_t>(n));
  std::iota(phase_start.begin(), phase_start.end(), 0);
  for (const GridRun& run : runs) {
    for (int64_t r = 0; r < run.stride; ++r) {
      const int64_t base = run.start + run.phase_offset(r);
      std::fill_n(phase_start.begin() + base, run.phase_count(r), base);
    }
  }
  const int64_t sinks = std::min(config.sink_tokens, n);
  const int64_t local = std::max<int64_t>(config.local_tokens, 1);
  for (int64_t qb = 0; qb < builder.blocks(); ++qb) {
    const int64_t a = qb * kBlock, b = std::min(n, a + kBlock);
    for (int64_t t = 0; t < sinks; ++t) builder.add_column(qb, inverse[static_cast<size_t>(t)]);
    int64_t reach = a - local + 1;
    for (int64_t p = a; p < b; ++p) reach = std::min(reach, phase_start[static_cast<size_t>(p)]);
    builder.add_range(qb, reach, b);
    for (size_t g = 0; g < runs.size(); ++g) {
      for (int64_t phase : est.grid[g].phases) {
        const int64_t base = runs[g].start + runs[g].phase_offset(phase);
        builder.add_range(qb, base, base + runs[g].phase_count(phase));
      }
    }
  }
  est.index = builder.finish();
  return est;
}

}  // namespace mmi::attention::detail
