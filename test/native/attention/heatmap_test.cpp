// Heatmaps: each sampled row's mass sums to one in both orders, the pooled cells equal an independent pooling of
// the exact rows, recall and coverage agree with the rendered mask, and a full index has recall and coverage 1.
#include "check.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/synthetic.hpp"
#include "support.hpp"

using namespace mmi::attention;
using mmi::SparseIndex;

namespace {

struct Fixture {
  ModalityLayout layout;
  QKV in;
  std::vector<SparseIndex> index;
};

Fixture fixture(Pattern p) {
  const Segment segments[] = {Segment::text(30), Segment::video(4, 6, 8), Segment::text(27)};
  Fixture f{ModalityLayout::make(segments), {}, {}};
  f.in = synthetic_qkv({f.layout, 2, 1, 64, 3, 4});
  PatternConfig c;
  c.pattern = p;
  c.grid_lines = 2;
  c.sink_tokens = 8;
  c.local_tokens = 32;
  c.text_to_text = c.text_to_video = c.video_to_text = c.video_to_video = {30, 100};
  for (const auto& e : estimate_heads(f.in.qv(), f.in.kv(), f.layout, std::span(&c, 1))) f.index.push_back(e.index);
  return f;
}

}  // namespace

TEST(heatmap_pools_exact_rows) {
  for (Pattern p : {Pattern::grid, Pattern::two_d_boundary, Pattern::vertical_slash}) {
    const Fixture f = fixture(p);
    const int64_t n = f.layout.n(), g = 16;
    HeatmapOptions options;
    options.samples = 40;
    options.grid = g;
    const int64_t heads[] = {1, 0};
    const auto maps = heatmaps(f.in.qv(), f.in.kv(), f.index, heads, options);
    CHECK(maps.size() == 2 && maps[0].head == 1 && maps[1].head == 0);
    for (const Heatmap& hm : maps) {
      CHECK(hm.rows == sample_rows(n, 40));
      CHECK(hm.rows.front() == 0 && hm.rows.back() == n - 1);
      const SparseIndex& idx = f.index[static_cast<size_t>(hm.head)];
      // Independent pooling of the exact rows.
      const std::vector<double> w = attention_rows(f.in.qv(), f.in.kv(), hm.head, hm.rows, 0.0f);
      const auto mask = render_mask(idx, true);
      const auto row_inv = inverse_permutation(idx.row_perm), col_inv = inverse_permutation(idx.col_perm);
      std::vector<double> mass(static_cast<size_t>(g * g), 0.0), mass_p(static_cast<size_t>(g * g), 0.0);
      std::vector<int> rows_in(static_cast<size_t>(g), 0), rows_in_p(static_cast<size_t>(g), 0);
      double kept_mass = 0.0, kept = 0.0, pairs = 0.0;
      for (size_t i = 0; i < hm.rows.size(); ++i) {
        const int64_t r = hm.rows[i];
        const int64_t rp = row_inv.empty() ? r : row_inv[static_cast<size_t>(r)];
        ++rows_in[static_cast<size_t>(r * g / n)];
        ++rows_in_p[static_cast<size_t>(rp * g / n)];
        for (int64_t c = 0; c <= r; ++c) {
          const double x = w[i * static_cast<size_t>(n) + static_cast<size_t>(c)];
          const int64_t cp = col_inv.empty() ? c : col_inv[static_cast<size_t>(c)];
          mass[static_cast<size_t>((r * g / n) * g + c * g / n)] += x;
          mass_p[static_cast<size_t>((rp * g / n) * g + cp * g / n)] += x;
          pairs += 1;
          if (mask[static_cast<size_t>(r * n + c)]) kept_mass += x, kept += 1;
        }
      }
      double max_diff = 0.0, row_sum_err = 0.0;
      for (int64_t i = 0; i < g; ++i) {
        double sum = 0.0, sum_p = 0.0;
        for (int64_t j = 0; j < g; ++j) {
          const auto c = static_cast<size_t>(i * g + j);
          const double expect = rows_in[static_cast<size_t>(i)] ? mass[c] / rows_in[static_cast<size_t>(i)] : 0.0;
          const double expect_p = rows_in_p[static_cast<size_t>(i)] ? mass_p[c] / rows_in_p[static_cast<size_t>(i)] : 0.0;
          max_diff = std::max({max_diff, std::abs(hm.mass[c] - expect), std::abs(hm.mass_permuted[c] - expect_p)});
          sum += hm.mass[c];
          sum_p += hm.mass_permuted[c];
          CHECK(hm.mask[c] >= 0.0f && hm.mask[c] <= 1.0f && hm.mask_permuted[c] >= 0.0f && hm.mask_permuted[c] <= 1.0f);
        }
        if (hm.row_samples[static_cast<size_t>(i)] > 0) row_sum_err = std::max(row_sum_err, std::abs(sum - 1.0));
        if (hm.row_samples_permuted[static_cast<size_t>(i)] > 0) row_sum_err = std::max(row_sum_err, std::abs(sum_p - 1.0));
        CHECK(hm.row_samples[static_cast<size_t>(i)] == rows_in[static_cast<size_t>(i)]);
        CHECK(hm.row_samples_permuted[static_cast<size_t>(i)] == rows_in_p[static_cast<size_t>(i)]);
      }
      CHECK(max_diff < 1e-6) << pattern_name(p) << ": pooled mass differs by " << max_diff;
      CHECK(row_sum_err < 1e-5) << pattern_name(p) << ": a row bin's mass does not sum to 1: " << row_sum_err;
      const double recall_expect = kept_mass / static_cast<double>(hm.rows.size());
      CHECK(std::abs(hm.recall - recall_expect) < 1e-12) << hm.recall << " vs " << recall_expect;
      CHECK(std::abs(hm.coverage - kept / pairs) < 1e-12) << hm.coverage << " vs " << kept / pairs;
      CHECK(std::abs(recall(f.in.qv(), f.in.kv(), hm.head, idx, hm.rows) - hm.recall) < 1e-12);
      CHECK(hm.recall > 0.5 && hm.recall <= 1.0 + 1e-12) << pattern_name(p) << " recall " << hm.recall;
      if (p == Pattern::grid) {
        CHECK(hm.recall < 1.0 && hm.coverage < 1.0) << "grid keeps everything at this size";
      }
    }
  }
}

TEST(heatmap_of_full_index_has_full_recall) {
  Fixture f = fixture(Pattern::dense);
  HeatmapOptions options;
  options.samples = 1000;  // more than n: every row once
  options.grid = 300;      // more bins than tokens: empty bins stay zero
  const int64_t heads[] = {0};
  const auto maps = heatmaps(f.in.qv(), f.in.kv(), f.index, heads, options);
  CHECK(maps[0].rows.size() == static_cast<size_t>(f.layout.n()));
  CHECK(std::abs(maps[0].recall - 1.0) < 1e-12 && maps[0].coverage == 1.0);
  CHECK(maps[0].mass == maps[0].mass_permuted) << "identity index: both orders agree";
  CHECK(sample_rows(1, 5) == std::vector<int64_t>{0});
  CHECK(sample_rows(10, 1) == std::vector<int64_t>{9});
}

TEST(heatmap_rejects_hostile_arguments) {
  Fixture f = fixture(Pattern::a_shape);
  HeatmapOptions options;
  const int64_t bad_head[] = {2};
  CHECK_THROWS_CODE(heatmaps(f.in.qv(), f.in.kv(), f.index, bad_head, options), ErrorCode::InvalidArgument);
  const int64_t head[] = {0};
  options.grid = 0;
  CHECK_THROWS_CODE(heatmaps(f.in.qv(), f.in.kv(), f.index, head, options), ErrorCode::InvalidArgument);
  options.grid = 16;
  options.samples = 0;
  CHECK_THROWS_CODE(heatmaps(f.in.qv(), f.in.kv(), f.index, head, options), ErrorCode::InvalidArgument);
  options.samples = 8;
  std::vector<SparseIndex> one = {f.index[0]};
  CHECK_THROWS_CODE(heatmaps(f.in.qv(), f.in.kv(), one, head, options), ErrorCode::InvalidArgument);
}
