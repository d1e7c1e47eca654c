// The sparse pre-fill hook on the tiny fixtures: every pattern at full budget gives transformers' logits (fp32
// tolerance) and ours bit-close; small budgets really are sparse; the recall floor falls back to dense; heatmaps
// arrive through the callback; follow-ups, cancellation and mismatched files.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

#include "fixture_prompt.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/prefill.hpp"
#include "pattern_checks.hpp"

using namespace mmi::patterns;
namespace att = mmi::attention;

namespace {

constexpr double kReferenceTolerance = 1e-3;  // the runtime's bar against transformers (fp32)
constexpr double kDenseTolerance = 1e-5;      // the same kernel arithmetic over the same keys

ModelIdentity sizes_of(const fixture::Fixture& fx) {
  const auto& t = fx.model->config().text;
  return {"qwen2_5_vl", t.layers, t.heads, t.kv_heads, t.head_dim, std::string(64, '0')};
}

std::shared_ptr<const PatternFile> every_head(const fixture::Fixture& fx, const HeadPattern& pattern) {
  PatternFile f = dense_pattern_file(sizes_of(fx));
  for (auto& layer : f.layers) {
    for (auto& head : layer) head.pattern = pattern;
  }
  return std::make_shared<const PatternFile>(std::move(f));
}

// Budgets that keep every key: bands and lists longer than any prompt, every block, every grid phase.
std::vector<HeadPattern> full_budget_patterns() {
  const Budget all = Budget::fixed_count(1 << 20);
  const VerticalSlashBudgets vs{all, all};
  return {HeadPattern::a_shape(all, all),
          HeadPattern::vertical_slash_of(vs),
          HeadPattern::block_sparse(Budget::of(1.0)),
          HeadPattern::grid(all, all, 1 << 20),
          HeadPattern::q_boundary(vs, vs),
          HeadPattern::two_d_boundary(vs, vs, vs, vs)};
}

SparsePrefillOptions sparse_always() {
  SparsePrefillOptions o;
  o.dense_below_tokens = 0;
  return o;
}

}  // namespace

TEST(every_pattern_at_full_budget_reproduces_the_dense_logits) {
  for (const char* name : {"tiny-a", "tiny-b"}) {
    const fixture::Fixture fx = fixture::load(name);
    const auto dense = fixture::prefill(fx, fx.prompt, nullptr);
    CHECK(fixture::rel_error(dense, fx.reference_last_logits) < kReferenceTolerance);
    for (const HeadPattern& p : full_budget_patterns()) {
      const SparsePrefill hook(*fx.model, every_head(fx, p), sparse_always());
      const auto logits = fixture::prefill(fx, fx.prompt, &hook);
      const double vs_reference = fixture::rel_error(logits, fx.reference_last_logits);
      const double vs_dense = fixture::rel_error(logits, dense);
      std::printf("  %s %-15s vs transformers %.2e, vs dense %.2e\n", name, att::pattern_name(p.pattern), vs_reference,
                  vs_dense);
      CHECK(vs_reference < kReferenceTolerance) << name << " " << att::pattern_name(p.pattern);
      CHECK(vs_dense < kDenseTolerance) << name << " " << att::pattern_name(p.pattern);
      const auto reports = hook.reports();
      const auto& t = fx.model->config().text;
      CHECK(static_cast<std::int64_t>(reports.size()) == t.layers * t.heads);
      for (const HeadReport& r : reports) {
        CHECK(r.applied == p.pattern && r.reason == DenseReason::none && r.density == 1.0 && r.keys == r.queries &&
              r.keys == static_cast<std::int64_t>(fx.prompt.ids.size()))
            << name << " " << att::pattern_name(p.pattern) << " layer " << r.layer << " head " << r.head << " ran "
            << att::pattern_name(r.applied) << " (" << dense_reason_name(r.reason) << "), density " << r.density;
      }
    }
  }
}

TEST(small_budgets_are_sparse_and_change_the_logits) {
  // 97 + 300 tokens: seven query blocks, so a narrow band drops keys.
  const fixture::Fixture fx = fixture::load("tiny-a");
  const fixture::Prompt longer = fixture::longer(fx, 300);
  const auto dense = fixture::prefill(fx, longer, nullptr);
  const HeadPattern narrow[] = {
      HeadPattern::a_shape(Budget::fixed_count(1), Budget::fixed_count(1)),
      HeadPattern::block_sparse(Budget::fixed_count(1)),
      HeadPattern::grid(Budget::fixed_count(1), Budget::fixed_count(1), 1),
  };
  for (const HeadPattern& p : narrow) {
    const SparsePrefill hook(*fx.model, every_head(fx, p), sparse_always());
    const auto logits = fixture::prefill(fx, longer, &hook);
    double density = 0.0;
    for (const HeadReport& r : hook.reports()) density += r.density / static_cast<double>(hook.reports().size());
    std::printf("  %-12s mean density %.3f, logits vs dense %.2e\n", att::pattern_name(p.pattern), density,
                fixture::rel_error(logits, dense));
    CHECK(density < 0.7) << att::pattern_name(p.pattern) << " " << density;
    CHECK(fixture::rel_error(logits, dense) > 1e-4) << att::pattern_name(p.pattern);
  }
  // Below the short-prompt threshold the same file runs dense.
  SparsePrefillOptions threshold;
  threshold.dense_below_tokens = 1000;
  const SparsePrefill hook(*fx.model, every_head(fx, narrow[0]), threshold);
  CHECK(fixture::rel_error(fixture::prefill(fx, longer, &hook), dense) < kDenseTolerance);
  for (const HeadReport& r : hook.reports()) {
    CHECK(r.planned == att::Pattern::a_shape && r.applied == att::Pattern::dense && r.reason == DenseReason::short_prompt);
  }
}

TEST(heads_under_the_recall_floor_fall_back_to_dense) {
  const fixture::Fixture fx = fixture::load("tiny-a");
  const fixture::Prompt longer = fixture::longer(fx, 300);
  const auto file = every_head(fx, HeadPattern::a_shape(Budget::fixed_count(1), Budget::fixed_count(64)));
  // First measure every head's recall (a floor no index misses), then set the floor at the median.
  SparsePrefillOptions o = sparse_always();
  o.recall_floor = 1e-12;
  o.recall_samples = 16;
  const SparsePrefill measure(*fx.model, file, o);
  const auto sparse = fixture::prefill(fx, longer, &measure);
  std::vector<double> recalls;
  for (const HeadReport& r : measure.reports()) {
    REQUIRE(r.recall.has_value());
    CHECK(*r.recall > 0.0 && *r.recall <= 1.0 + 1e-12 && r.applied == att::Pattern::a_shape);
    recalls.push_back(*r.recall);
  }
  std::vector<double> sorted = recalls;
  std::sort(sorted.begin(), sorted.end());
  o.recall_floor = sorted[sorted.size() / 2];
  const SparsePrefill floor(*fx.model, file, o);
  const auto mixed = fixture::prefill(fx, longer, &floor);
  int fell_back = 0;
  const auto reports = floor.reports();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const HeadReport& r = reports[i];
    // Layer 0 sees the same inputs in both runs, so its recalls are the same; later layers' inputs differ.
    if (r.layer == 0) {
      CHECK(*r.recall == recalls[i]);
    }
    const bool below = *r.recall < o.recall_floor;
    CHECK(r.applied == (below ? att::Pattern::dense : att::Pattern::a_shape) &&
          r.reason == (below ? DenseReason::recall_floor : DenseReason::none) && (r.density == 1.0) == below);
    fell_back += below ? 1 : 0;
  }
  std::printf("  recall floor %.3f (recalls %.3f..%.3f): %d of %zu heads fell back to dense\n", o.recall_floor,
              sorted.front(), sorted.back(), fell_back, reports.size());
  CHECK(fell_back > 0 && fell_back < static_cast<int>(reports.size()));
  // A floor above every recall: all dense, the dense logits.
  o.recall_floor = 1.0;
  const SparsePrefill all(*fx.model, file, o);
  CHECK(fixture::rel_error(fixture::prefill(fx, longer, &all), fixture::prefill(fx, longer, nullptr)) < kDenseTolerance);
  CHECK(fixture::rel_error(mixed, sparse) > 0.0);
}

TEST(heatmaps_of_chosen_heads_arrive_through_the_callback) {
  const fixture::Fixture fx = fixture::load("tiny-b");
  const fixture::Prompt longer = fixture::longer(fx, 200);
  const auto n = static_cast<std::int64_t>(longer.ids.size());
  const auto& t = fx.model->config().text;
  std::mutex mu;
  std::map<std::pair<std::int64_t, std::int64_t>, HeadHeatmap> got;
  std::atomic<int> inside{0};
  bool overlapped = false;
  SparsePrefillOptions o = sparse_always();
  o.heatmaps = {{0, 0}, {t.layers - 1, t.heads - 1}};
  o.heatmap_options.grid = 16;
  o.heatmap_options.samples = 24;
  o.on_heatmap = [&](const HeadHeatmap& h) {
    overlapped = overlapped || inside.fetch_add(1) != 0;
    std::lock_guard<std::mutex> lock(mu);
    got[{h.layer, h.head}] = h;
    inside.fetch_sub(1);
  };
  int heads_reported = 0;
  std::map<std::pair<std::int64_t, std::int64_t>, HeadReport> reports;
  o.on_head = [&](const HeadReport& r) {  // one call at a time: no lock needed
    ++heads_reported;
    reports[{r.layer, r.head}] = r;
  };
  const SparsePrefill hook(*fx.model, every_head(fx, HeadPattern::grid(Budget::fixed_count(8), Budget::fixed_count(16), 2)), o);
  fixture::prefill(fx, longer, &hook);
  CHECK(!overlapped);
  CHECK(heads_reported == t.layers * t.heads);
  CHECK(got.size() == 2 && got.count({0, 0}) == 1 && got.count({t.layers - 1, t.heads - 1}) == 1);
  for (const auto& [key, h] : got) {
    const att::Heatmap& m = h.heatmap;
    CHECK(h.pattern == att::Pattern::grid && h.grid.size() == 1 && m.head == key.second && m.grid == 16 && h.tokens == n);
    CHECK(m.rows.size() == 24 && m.rows.front() == 0 && m.rows.back() == n - 1);
    CHECK(m.recall > 0.0 && m.recall < 1.0 && m.coverage > 0.0 && m.coverage < 1.0) << m.recall << " " << m.coverage;
    // Each sampled row's attention sums to one: so do the row bins' mean masses, in both orders.
    for (const auto* mass : {&m.mass, &m.mass_permuted}) {
      const auto& samples = mass == &m.mass ? m.row_samples : m.row_samples_permuted;
      for (std::int64_t i = 0; i < 16; ++i) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < 16; ++j) sum += (*mass)[static_cast<std::size_t>(i * 16 + j)];
        CHECK(samples[static_cast<std::size_t>(i)] == 0 ? sum == 0.0 : std::abs(sum - 1.0) < 1e-5) << i << ": " << sum;
      }
    }
    CHECK(m.mask != m.mask_permuted);  // the grid permutes the video run
    // The head's report carries the heatmap's recall; heads without a heatmap measured none (no floor here).
    CHECK(reports.at(key).recall.has_value() && *reports.at(key).recall == m.recall);
  }
  CHECK(!reports.at({0, t.heads - 1}).recall.has_value() || t.heads == 1);
  SparsePrefillOptions bad = o;
  bad.heatmaps = {{t.layers, 0}};
  CHECK_PATTERN_ERROR(SparsePrefill(*fx.model, nullptr, bad), ErrorCode::InvalidInput, "heatmaps");
}

TEST(follow_ups_run_dense_over_the_cache) {
  const fixture::Fixture fx = fixture::load("tiny-a");
  const SparsePrefill hook(*fx.model, every_head(fx, HeadPattern::a_shape(Budget::fixed_count(64), Budget::fixed_count(64))),
                           sparse_always());
  const std::vector<std::int32_t> follow{5, 17, 29, 41};
  std::vector<std::vector<float>> logits;
  for (const mmi::qwen2_5_vl::PrefillAttention* a : {static_cast<const mmi::qwen2_5_vl::PrefillAttention*>(nullptr),
                                                      static_cast<const mmi::qwen2_5_vl::PrefillAttention*>(&hook)}) {
    mmi::qwen2_5_vl::Session s(*fx.model);
    s.prefill(fixture::input(fx, fx.prompt, nullptr));
    mmi::qwen2_5_vl::PrefillInput more;
    more.ids = follow;
    more.attention = a;
    logits.push_back(s.prefill(more));
  }
  CHECK(fixture::rel_error(logits[1], logits[0]) < kDenseTolerance) << fixture::rel_error(logits[1], logits[0]);
  for (const HeadReport& r : hook.reports()) {
    CHECK(r.reason == DenseReason::continued_queries && r.queries == 4 &&
          r.keys == static_cast<std::int64_t>(fx.prompt.ids.size()) + 4);
  }
}

TEST(cancel_mismatched_files_and_no_file) {
  const fixture::Fixture fx = fixture::load("tiny-b");
  std::atomic<bool> cancel{true};
  SparsePrefillOptions o = sparse_always();
  o.cancel = &cancel;
  const SparsePrefill cancelled(*fx.model, nullptr, o);
  CHECK_THROWS_ERROR(fixture::prefill(fx, fx.prompt, &cancelled), mmi::runtime::ErrorCode::Cancelled, "cancel");

  // No file: every head dense, and said so.
  const SparsePrefill none(*fx.model, nullptr, sparse_always());
  CHECK(fixture::rel_error(fixture::prefill(fx, fx.prompt, &none), fixture::prefill(fx, fx.prompt, nullptr)) < kDenseTolerance);
  for (const HeadReport& r : none.reports()) CHECK(r.reason == DenseReason::no_pattern_file);

  PatternFile other = dense_pattern_file(sizes_of(fx));
  other.model.head_dim *= 2;
  CHECK_PATTERN_ERROR(SparsePrefill(*fx.model, std::make_shared<const PatternFile>(other), {}), ErrorCode::WrongModel,
                      "head_dim");
  CHECK_PATTERN_ERROR(head_patterns(*fx.model, &other, 100), ErrorCode::WrongModel, "head_dim");
}

TEST(the_gpu_backends_form_of_a_file) {
  const fixture::Fixture fx = fixture::load("tiny-b");
  const auto& t = fx.model->config().text;
  PatternFile f = dense_pattern_file(sizes_of(fx));
  f.layers[1][2].pattern = HeadPattern::a_shape(Budget::fixed_count(4), Budget::of(0.25));
  const mmi::qwen2_5_vl::HeadPatterns long_prompt = head_patterns(*fx.model, &f, 20000);
  CHECK(long_prompt.layers == t.layers && long_prompt.heads == t.heads &&
        static_cast<std::int64_t>(long_prompt.configs.size()) == t.layers * t.heads);
  CHECK(long_prompt.at(1, 2).pattern == att::Pattern::a_shape && long_prompt.at(1, 2).local_tokens == 5000 &&
        long_prompt.at(1, 2).sink_tokens == 4 && long_prompt.at(0, 2).pattern == att::Pattern::dense);
  // Short prompts and no file: all dense.
  for (const auto& hp : {head_patterns(*fx.model, &f, 20000, 30000), head_patterns(*fx.model, nullptr, 20000)}) {
    for (const auto& c : hp.configs) CHECK(c.pattern == att::Pattern::dense);
    CHECK(static_cast<std::int64_t>(hp.configs.size()) == t.layers * t.heads);
  }
}
