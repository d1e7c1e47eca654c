// Scoring candidate patterns on one head and choosing among them (docs/algorithm.md §9).
#include <algorithm>
#include <limits>
#include <optional>

#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/search.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;

std::vector<HeadPattern> default_candidates() {
  // MInference's vertical-slash search budgets, read as counts at 128K tokens and scaled with N.
  constexpr std::int64_t kReference = 131072;
  constexpr std::int64_t kBudgets[][2] = {{30, 800}, {100, 800}, {100, 750}, {500, 700}, {3500, 100}, {1000, 4096}};
  const Budget sinks = Budget::fixed_count(64);
  std::vector<HeadPattern> out;
  for (double local : {1.0 / 32, 1.0 / 16, 1.0 / 8}) out.push_back(HeadPattern::a_shape(sinks, Budget::of(local)));
  std::vector<VerticalSlashBudgets> vs;
  for (const auto& b : kBudgets) {
    vs.push_back({Budget::scaled_count(b[0], kReference), Budget::scaled_count(b[1], kReference)});
  }
  for (const auto& b : vs) out.push_back(HeadPattern::vertical_slash_of(b));
  for (double top : {1.0 / 32, 1.0 / 16, 1.0 / 8}) out.push_back(HeadPattern::block_sparse(Budget::of(top)));
  out.push_back(HeadPattern::grid(sinks, Budget::of(1.0 / 64), 2));
  out.push_back(HeadPattern::grid(sinks, Budget::of(1.0 / 64), 8));
  out.push_back(HeadPattern::grid(sinks, Budget::of(1.0 / 32), 4));
  for (const auto& b : vs) out.push_back(HeadPattern::q_boundary(b, b));
  for (const auto& b : vs) out.push_back(HeadPattern::two_d_boundary(b, b, b, b));
  return out;
}

int estimation_rank(att::Pattern pattern) {
  switch (pattern) {
    case att::Pattern::dense: return 0;
    case att::Pattern::a_shape: return 1;
    case att::Pattern::block_sparse: return 2;
    case att::Pattern::vertical_slash: return 3;
    case att::Pattern::grid: return 4;
    case att::Pattern::q_boundary: return 5;
    case att::Pattern::two_d_boundary: return 6;
  }
  return 7;
}

double kernel_cost(const SparseIndex& index) {
  const std::int64_t n = index.n, nb = num_blocks(n);
  if (nb == 0) return 0.0;
  // Per query block the latest original row, per key block the earliest original key: a block whose earliest key
  // is after the block's latest row is wholly in the future and the kernel skips it.
  std::vector<std::int64_t> last_row(static_cast<std::size_t>(nb), -1);
  std::vector<std::int64_t> first_key(static_cast<std::size_t>(nb), std::numeric_limits<std::int64_t>::max());
  for (std::int64_t p = 0; p < n; ++p) {
    auto& r = last_row[static_cast<std::size_t>(p / kBlock)];
    auto& k = first_key[static_cast<std::size_t>(p / kBlock)];
    r = std::max(r, att::through(index.row_perm, p));
    k = std::min(k, att::through(index.col_perm, p));
  }
  std::int64_t tiles = 0;
  for (std::int64_t qb = 0; qb < nb; ++qb) {
    const std::int64_t row = last_row[static_cast<std::size_t>(qb)];
    for (auto i = index.block_offsets[static_cast<std::size_t>(qb)]; i < index.block_offsets[static_cast<std::size_t>(qb) + 1]; ++i) {
      if (first_key[static_cast<std::size_t>(index.block_ids[static_cast<std::size_t>(i)])] <= row) ++tiles;
    }
    std::int64_t columns = 0;
    for (auto i = index.column_offsets[static_cast<std::size_t>(qb)]; i < index.column_offsets[static_cast<std::size_t>(qb) + 1]; ++i) {
      if (att::through(index.col_perm, index.column_ids[static_cast<std::size_t>(i)]) <= row) ++columns;
    }
    tiles += (columns + kBlock - 1) / kBlock;
  }
  return static_cast<double>(tiles) / static_cast<double>(nb * (nb + 1) / 2);
}

std::vector<CandidateScore> score_candidates(const att::HeadsView& q, const att::HeadsView& k, std::int64_t head,
                                             const att::ModalityLayout& layout, std::span<const HeadPattern> candidates,
                                             std::int64_t recall_samples, float scale, const std::atomic<bool>* cancel) {
  const std::int64_t n = q.n;
  const std::vector<std::int64_t> rows = att::sample_rows(n, recall_samples);
  // The sampled rows' dense softmax once; every candidate's mask is measured against it.
  const std::vector<double> weights = att::attention_rows(q, k, head, rows, scale);
  double causal_pairs = 0.0;
  for (std::int64_t r : rows) causal_pairs += static_cast<double>(r + 1);
  std::vector<CandidateScore> out;
  std::vector<std::uint8_t> kept;
  // The candidates share the head's estimation work (softmax rows, vertical-slash scores, block scores).
  std::optional<att::HeadEstimator> estimator;
  for (const HeadPattern& candidate : candidates) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      throw Error(ErrorCode::Cancelled, "", "", "the search was cancelled");
    }
    if (!estimator) estimator.emplace(q, k, head, layout, scale);
    const att::HeadEstimate est = estimator->estimate(to_config(candidate, n));
    const att::MaskRows mask(est.index, true);
    double mass = 0.0, pairs = 0.0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      mask.keep(rows[i], kept);
      const double* w = weights.data() + i * static_cast<std::size_t>(n);
      for (std::int64_t key = 0; key <= rows[i]; ++key) {
        if (kept[static_cast<std::size_t>(key)]) {
          mass += w[key];
          pairs += 1.0;
        }
      }
    }
    CandidateScore s;
    s.recall = std::min(1.0, mass / static_cast<double>(rows.size()));
    s.density = pairs / causal_pairs;
    s.cost = kernel_cost(est.index);
    out.push_back(s);
  }
  return out;
}

HeadEntry choose_pattern(std::span<const HeadPattern> candidates, std::span<const CandidateScore> scores,
                         const SearchSettings& settings) {
  if (candidates.empty() || candidates.size() != scores.size()) {
    throw Error(ErrorCode::InvalidInput, "", "candidates", "need one score per candidate");
  }
  double cheapest = std::numeric_limits<double>::infinity();
  for (const CandidateScore& s : scores) cheapest = std::min(cheapest, s.cost);
  const double limit = std::max(settings.cost_target, cheapest);
  double best = -1.0;
  for (const CandidateScore& s : scores) {
    if (s.cost <= limit) best = std::max(best, s.recall);
  }
  std::size_t pick = scores.size();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (scores[i].cost > limit || scores[i].recall < best - settings.tie_tolerance) continue;
    if (pick == scores.size()) {
      pick = i;
      continue;
    }
    const int ri = estimation_rank(candidates[i].pattern), rp = estimation_rank(candidates[pick].pattern);
    if (ri < rp || (ri == rp && scores[i].cost < scores[pick].cost)) pick = i;
  }
  const CandidateScore& s = scores[pick];
  if (s.recall < settings.dense_below_recall) return HeadEntry{HeadPattern::dense(), HeadStats{1.0, 1.0, 1.0}};
  // Means over prompts may round a hair above 1.
  return HeadEntry{candidates[pick], HeadStats{std::min(1.0, s.recall), std::min(1.0, s.density), s.cost}};
}

}  // namespace mmi::patterns
