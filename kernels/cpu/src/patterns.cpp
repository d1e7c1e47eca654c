#include "mmi/attention/patterns.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "estimation.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"

namespace mmi::attention {

namespace detail {
HeadEstimate grid_estimate(AttentionRows& attention, const ModalityLayout& layout, const PatternConfig& config);
}  // namespace detail

const char* pattern_name(Pattern pattern) {
  switch (pattern) {
    case Pattern::dense: return "dense";
    case Pattern::a_shape: return "a_shape";
    case Pattern::vertical_slash: return "vertical_slash";
    case Pattern::block_sparse: return "block_sparse";
    case Pattern::grid: return "grid";
    case Pattern::q_boundary: return "q_boundary";
    case Pattern::two_d_boundary: return "two_d_boundary";
  }
  return "unknown";
}

void validate_pattern(const PatternConfig& c) {
  require(c.pattern >= Pattern::dense && c.pattern <= Pattern::two_d_boundary,
          "unknown pattern " + std::to_string(static_cast<int>(c.pattern)));
  auto non_negative = [](int64_t value, const std::string& name) {
    require(value >= 0, "pattern budget " + name + " must be >= 0, got " + std::to_string(value));
  };
  non_negative(c.sink_tokens, "sink_tokens");
  non_negative(c.local_tokens, "local_tokens");
  non_negative(c.top_k_blocks, "top_k_blocks");
  non_negative(c.grid_lines, "grid_lines");
  const std::pair<const VerticalSlashBudget*, const char*> budgets[] = {
      {&c.vertical_slash, "vertical_slash"}, {&c.text_rows, "text_rows"},         {&c.video_rows, "video_rows"},
      {&c.text_to_text, "text_to_text"},     {&c.text_to_video, "text_to_video"}, {&c.video_to_text, "video_to_text"},
      {&c.video_to_video, "video_to_video"},
  };
  for (const auto& [b, name] : budgets) {
    non_negative(b->vertical, std::string(name) + ".vertical");
    non_negative(b->slash, std::string(name) + ".slash");
  }
}

SparseIndex a_shape_index(int64_t n, int64_t sink_tokens, int64_t local_tokens) {
  detail::IndexBuilder builder(n, {}, {});
  const int64_t local = std::max<int64_t>(local_tokens, 1);  // a row always keeps itself
  for (int64_t qb = 0; qb < builder.blocks(); ++qb) {
    const int64_t a = qb * kBlock, b = std::min(n, a + kBlock);
    builder.add_range(qb, 0, sink_tokens);
    builder.add_range(qb, a - local + 1, b);
  }
  return builder.finish();
}

namespace {

// Mean-pooled rows of each 64-token block of head h, nb × dim.
std::vector<double> pooled_blocks(const HeadsView& t, int64_t h) {
  const int64_t n = t.n, nb = num_blocks(n), dim = t.dim;
  std::vector<double> pooled(static_cast<size_t>(nb * dim), 0.0);
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t r = 0; r < n; ++r) {
    t.load_row(h, r, row.data());
    for (int64_t d = 0; d < dim; ++d) pooled[static_cast<size_t>((r / kBlock) * dim + d)] += row[static_cast<size_t>(d)];
  }
  for (int64_t b = 0; b < nb; ++b) {
    const double count = static_cast<double>(std::min(n, (b + 1) * kBlock) - b * kBlock);
    for (int64_t d = 0; d < dim; ++d) pooled[static_cast<size_t>(b * dim + d)] /= count;
  }
  return pooled;
}

// Query block i's scores against key blocks 0..i: pooled q · pooled k, scaled.
void block_scores(std::span<const double> pq, std::span<const double> pk, int64_t dim, float scale, int64_t i,
                  std::vector<double>& scores) {
  scores.assign(static_cast<size_t>(i + 1), 0.0);
  for (int64_t j = 0; j <= i; ++j) {
    double s = 0.0;
    for (int64_t d = 0; d < dim; ++d) s += pq[static_cast<size_t>(i * dim + d)] * pk[static_cast<size_t>(j * dim + d)];
    scores[static_cast<size_t>(j)] = s * scale;
  }
}

// Each query block's top_k key blocks, the first and the diagonal always; scores_of(i, scores) fills block i's.
template <class ScoresOf>
SparseIndex block_sparse_of(int64_t n, int64_t top_k, ScoresOf&& scores_of) {
  detail::IndexBuilder builder(n, {}, {});
  std::vector<double> scores;
  for (int64_t i = 0; i < num_blocks(n); ++i) {
    scores_of(i, scores);
    scores.front() = scores.back() = INFINITY;  // the first block (sinks) and the diagonal always
    for (int64_t j : detail::top_indices(scores, std::max<int64_t>(top_k, i == 0 ? 1 : 2))) {
      builder.add_range(i, j * kBlock, (j + 1) * kBlock);
    }
  }
  return builder.finish();
}

}  // namespace

SparseIndex block_sparse_index(const HeadsView& q, const HeadsView& k, int64_t head, int64_t top_k, float scale) {
  const int64_t kv_head = head / (q.heads / k.heads);
  const std::vector<double> pq = pooled_blocks(q, head), pk = pooled_blocks(k, kv_head);
  return block_sparse_of(q.n, top_k, [&](int64_t i, std::vector<double>& scores) {
    block_scores(pq, pk, q.dim, scale, i, scores);
  });
}

std::vector<double> attention_rows(const HeadsView& q, const HeadsView& k, int64_t head,
                                   std::span<const int64_t> rows, float scale) {
  validate_qk(q, k, false);
  require(head >= 0 && head < q.heads, "head " + std::to_string(head) + " is out of range");
  for (int64_t r : rows) require(r >= 0 && r < q.n, "row " + std::to_string(r) + " is out of range");
  std::vector<double> out(rows.size() * static_cast<size_t>(q.n), 0.0);
  detail::for_each_attention_row(q, k, head, rows, resolve_scale(scale, q.dim), [&](size_t i, std::span<const double> w) {
    std::copy(w.begin(), w.end(), out.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(q.n)));
  });
  return out;
}

namespace {

bool is_identity(const std::vector<int32_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int32_t>(i)) return false;
  }
  return true;
}

void check_head(const HeadsView& q, int64_t head, const ModalityLayout& layout) {
  require(head >= 0 && head < q.heads, "head " + std::to_string(head) + " is out of range [0, " +
                                           std::to_string(q.heads) + ")");
  require(layout.n() == q.n, "layout covers " + std::to_string(layout.n()) + " tokens but q has " +
                                 std::to_string(q.n));
}

// The permutations a region's vertical-slash scores are taken under.
enum class Orders : int { plain, modality_rows, modality_both };

// One head's estimation. With `keep`, what several configurations repeat is computed once and kept: the softmax
// rows, each region's vertical-slash scores, block-sparse's block scores.
class Estimator {
 public:
  Estimator(const HeadsView& q, const HeadsView& k, int64_t head, const ModalityLayout& layout, float scale,
            bool keep)
      : q_(q),
        k_(k),
        head_(head),
        layout_(layout),
        scale_(resolve_scale(scale, q.dim)),
        keep_(keep),
        modality_(modality_permutation(layout)),
        attention_(q, k, head, scale_, keep) {
    if (is_identity(modality_)) modality_.clear();
  }

  HeadEstimate estimate(const PatternConfig& config) {
    const int64_t n = q_.n, text = layout_.text_tokens();
    HeadEstimate est;
    switch (config.pattern) {
      case Pattern::dense: est.index = full_index(n); break;
      case Pattern::a_shape: est.index = a_shape_index(n, config.sink_tokens, config.local_tokens); break;
      case Pattern::block_sparse: est.index = block_sparse(config.top_k_blocks); break;
      case Pattern::vertical_slash: {
        const std::pair<detail::Region, VerticalSlashBudget> r[] = {{{0, n, 0, n}, config.vertical_slash}};
        est.index = regions_index(Orders::plain, r);
        break;
      }
      case Pattern::grid: est = detail::grid_estimate(attention_, layout_, config); break;
      case Pattern::q_boundary: {
        const std::pair<detail::Region, VerticalSlashBudget> r[] = {{{0, text, 0, n}, config.text_rows},
                                                                    {{text, n, 0, n}, config.video_rows}};
        est.index = regions_index(Orders::modality_rows, r);
        break;
      }
      case Pattern::two_d_boundary: {
        const std::pair<detail::Region, VerticalSlashBudget> r[] = {
            {{0, text, 0, text}, config.text_to_text},
            {{0, text, text, n}, config.text_to_video},
            {{text, n, 0, text}, config.video_to_text},
            {{text, n, text, n}, config.video_to_video},
        };
        est.index = regions_index(Orders::modality_both, r);
        break;
      }
    }
    return est;
  }

 private:
  using RegionKey = std::tuple<Orders, int64_t, int64_t, int64_t, int64_t>;

  // One vertical-slash selection per region, applied to the orders' permutation.
  SparseIndex regions_index(Orders orders, std::span<const std::pair<detail::Region, VerticalSlashBudget>> regions) {
    detail::IndexBuilder builder(q_.n, orders == Orders::plain ? std::vector<int32_t>{} : modality_,
                                 orders == Orders::modality_both ? modality_ : std::vector<int32_t>{});
    const detail::RowKeyCoordinate coord(builder);
    for (const auto& [region, budget] : regions) {
      const RegionKey key{orders, region.row_begin, region.row_end, region.key_begin, region.key_end};
      auto found = scores_.find(key);
      if (found == scores_.end()) {
        detail::VerticalSlashScores scores = detail::score_vertical_slash(attention_, builder, coord, region);
        if (!keep_) {
          detail::apply_vertical_slash(builder, coord, region, detail::select_vertical_slash(scores, region, budget));
          continue;
        }
        found = scores_.emplace(key, std::move(scores)).first;
      }
      detail::apply_vertical_slash(builder, coord, region, detail::select_vertical_slash(found->second, region, budget));
    }
    return builder.finish();
  }

  SparseIndex block_sparse(int64_t top_k) {
    const auto scale = static_cast<float>(scale_);
    if (!keep_) return block_sparse_index(q_, k_, head_, top_k, scale);
    if (block_scores_.empty()) {
      // Every budget ranks the same scores: all query blocks' rows, one after another (row i at i(i+1)/2).
      const std::vector<double> pq = pooled_blocks(q_, head_);
      const std::vector<double> pk = pooled_blocks(k_, head_ / (q_.heads / k_.heads));
      std::vector<double> row;
      for (int64_t i = 0; i < num_blocks(q_.n); ++i) {
        block_scores(pq, pk, q_.dim, scale, i, row);
        block_scores_.insert(block_scores_.end(), row.begin(), row.end());
      }
    }
    return block_sparse_of(q_.n, top_k, [&](int64_t i, std::vector<double>& scores) {
      const auto at = block_scores_.begin() + i * (i + 1) / 2;
      scores.assign(at, at + i + 1);
    });
  }

  HeadsView q_, k_;
  int64_t head_;
  const ModalityLayout& layout_;
  double scale_;
  bool keep_;
  std::vector<int32_t> modality_;
  detail::AttentionRows attention_;
  std::map<RegionKey, detail::VerticalSlashScores> scores_;
  std::vector<double> block_scores_;
};

}  // namespace

struct HeadEstimator::State {
  Estimator estimator;
};

HeadEstimator::HeadEstimator(const HeadsView& q, const HeadsView& k, int64_t head, const ModalityLayout& layout,
                             float scale) {
  validate_qk(q, k, false);
  check_head(q, head, layout);
  state_ = std::make_unique<State>(State{Estimator(q, k, head, layout, scale, true)});
}

HeadEstimator::~HeadEstimator() = default;
HeadEstimator::HeadEstimator(HeadEstimator&&) noexcept = default;
HeadEstimator& HeadEstimator::operator=(HeadEstimator&&) noexcept = default;

HeadEstimate HeadEstimator::estimate(const PatternConfig& config) {
  validate_pattern(config);
  return state_->estimator.estimate(config);
}

HeadEstimate estimate_head(const HeadsView& q, const HeadsView& k, int64_t head, const ModalityLayout& layout,
                           const PatternConfig& config, float scale) {
  validate_qk(q, k, false);
  validate_pattern(config);
  check_head(q, head, layout);
  return Estimator(q, k, head, layout, scale, false).estimate(config);
}

std::vector<HeadEstimate> estimate_heads(const HeadsView& q, const HeadsView& k, const ModalityLayout& layout,
                                         std::span<const PatternConfig> configs, float scale,
                                         const RunControl& control) {
  validate_qk(q, k, true);
  require(configs.size() == 1 || static_cast<int64_t>(configs.size()) == q.heads,
          "expected 1 or " + std::to_string(q.heads) + " pattern configs, got " + std::to_string(configs.size()));
  for (const PatternConfig& c : configs) validate_pattern(c);
  require(layout.n() == q.n, "layout covers " + std::to_string(layout.n()) + " tokens but q has " +
                                 std::to_string(q.n));
  std::vector<HeadEstimate> out(static_cast<size_t>(q.heads));
  parallel_for(q.heads, control, [&](int64_t h) {
    const PatternConfig& c = configs.size() == 1 ? configs[0] : configs[static_cast<size_t>(h)];
    out[static_cast<size_t>(h)] = estimate_head(q, k, h, layout, c, scale);
  });
  return out;
}

}  // namespace mmi::attention
