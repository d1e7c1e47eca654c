// The offline search: planted synthetic heads recovered, byte-identical results whatever the thread count,
// resumption after an interruption (even one mid-record) giving the same file, refused checkpoints and inputs, and
// the search on the tiny fixtures with its result run through the sparse pre-fill.
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>

#include "fixture_prompt.hpp"
#include "mmi/patterns/prefill.hpp"
#include "mmi/patterns/search.hpp"
#include "pattern_checks.hpp"
#include "planted.hpp"

using namespace mmi::patterns;
namespace att = mmi::attention;

namespace {

// Candidates whose costs are comparable at the planted inputs' 1024 tokens (the defaults are for long prompts:
// at 1024 tokens their budgets round to the forced minimum).
std::vector<HeadPattern> small_prompt_candidates() {
  const Budget sinks = Budget::fixed_count(64);
  std::vector<HeadPattern> out;
  for (double local : {1.0 / 16, 1.0 / 8}) out.push_back(HeadPattern::a_shape(sinks, Budget::of(local)));
  const std::vector<VerticalSlashBudgets> vs = {{Budget::fixed_count(30), Budget::fixed_count(100)},
                                                {Budget::fixed_count(45), Budget::fixed_count(100)},
                                                {Budget::fixed_count(60), Budget::fixed_count(102)}};
  for (const auto& b : vs) out.push_back(HeadPattern::vertical_slash_of(b));
  for (double top : {1.0 / 8, 1.0 / 4}) out.push_back(HeadPattern::block_sparse(Budget::of(top)));
  out.push_back(HeadPattern::grid(sinks, Budget::of(1.0 / 64), 1));
  out.push_back(HeadPattern::grid(sinks, Budget::of(1.0 / 64), 4));
  for (const auto& b : vs) out.push_back(HeadPattern::q_boundary(b, b));
  for (const auto& b : vs) out.push_back(HeadPattern::two_d_boundary(b, b, b, b));
  return out;
}

SearchSettings planted_settings() {
  SearchSettings s;
  s.cost_target = 0.45;
  s.candidates = small_prompt_candidates();
  return s;
}

// One candidate per pattern: enough to test the search's mechanics at a third of the work.
SearchSettings few_candidates() {
  SearchSettings s = planted_settings();
  std::vector<HeadPattern> one_each;
  for (const HeadPattern& c : s.candidates) {
    if (one_each.empty() || one_each.back().pattern != c.pattern) one_each.push_back(c);
  }
  s.candidates = one_each;
  return s;
}

void summarize(const char* what, const PatternFile& f) {
  std::map<std::string, int> counts;
  double recall = 0.0, density = 0.0;
  int heads = 0;
  for (const auto& layer : f.layers) {
    for (const HeadEntry& e : layer) {
      ++counts[att::pattern_name(e.pattern.pattern)];
      recall += e.calibration->recall;
      density += e.calibration->density;
      ++heads;
    }
  }
  std::printf("  %s: %d heads:", what, heads);
  for (const auto& [name, count] : counts) std::printf(" %s %d", name.c_str(), count);
  std::printf("; mean recall %.3f, mean density %.3f\n", recall / heads, density / heads);
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct FixturePrompts {
  fixture::Fixture fx;
  fixture::Prompt longer;
  std::vector<CalibrationPrompt> prompts;
};

FixturePrompts fixture_prompts(const std::string& name, int threads = 2) {
  FixturePrompts out{fixture::load(name, threads), {}, {}};
  out.longer = fixture::longer(out.fx, 300);
  for (const fixture::Prompt* p : {&out.fx.prompt, &out.longer}) {
    CalibrationPrompt c;
    c.name = p == &out.fx.prompt ? "reference prompt" : "reference prompt + 300 text tokens";
    c.ids = p->ids;
    c.positions = p->positions;
    c.video_grids = {p->grid};
    c.video_features = out.fx.features;
    out.prompts.push_back(c);
  }
  return out;
}

}  // namespace

TEST(planted_heads_are_recovered) {
  const planted::Prompt p = planted::prompt(3);
  const ModelIdentity id = planted::identity(3);
  SearchControl control;
  control.threads = 2;
  const PatternFile f = search_patterns_qk(id, std::span(&p.prompt, 1), planted_settings(), control);
  int right = 0, total = 0;
  for (std::size_t l = 0; l < f.layers.size(); ++l) {
    for (std::size_t h = 0; h < f.layers[l].size(); ++h) {
      const char* want = planted::expected_pattern(planted::kKinds[h / planted::kGroup]);
      const char* got = att::pattern_name(f.layers[l][h].pattern.pattern);
      const bool ok = std::string(want) == got;
      right += ok ? 1 : 0;
      ++total;
      if (!ok) std::printf("  layer %zu head %zu: planted %s, chose %s\n", l, h, want, got);
    }
  }
  summarize("planted synthetic q/k", f);
  std::printf("  planted pattern recovered for %d of %d heads\n", right, total);
  CHECK(right * 100 >= 95 * total) << right << " of " << total;
  CHECK(parse_pattern_file(serialize_pattern_file(f)) == f);
  check_model(f, id);
}

TEST(qk_search_is_deterministic_and_resumes_to_the_same_file) {
  const planted::Prompt a = planted::prompt(1, "a", 0);
  const planted::Prompt b = planted::prompt(1, "b", 1);
  const mmi::patterns::QkPrompt prompts[] = {a.prompt, b.prompt};
  const ModelIdentity id = planted::identity(1);
  SearchControl one;
  one.threads = 1;
  const std::string once = serialize_pattern_file(search_patterns_qk(id, prompts, few_candidates(), one));
  SearchControl two;
  two.threads = 2;
  CHECK(serialize_pattern_file(search_patterns_qk(id, prompts, few_candidates(), two)) == once);

  fixtures::ScratchDir dir("qk-search");
  std::atomic<bool> cancel{false};
  SearchControl stop = two;
  stop.checkpoint = dir.path() / "search.ckpt";
  stop.cancel = &cancel;
  std::vector<std::int64_t> seen;
  stop.on_progress = [&](const SearchProgress& p) {
    seen.push_back(p.done);
    if (p.done == 1) cancel = true;  // after prompt a
  };
  CHECK_PATTERN_ERROR(search_patterns_qk(id, prompts, few_candidates(), stop), ErrorCode::Cancelled, "cancelled");
  CHECK(seen.back() == 1);
  cancel = false;
  seen.clear();
  stop.on_progress = [&](const SearchProgress& p) { seen.push_back(p.done); };
  CHECK(serialize_pattern_file(search_patterns_qk(id, prompts, few_candidates(), stop)) == once);
  CHECK(seen.front() == 1 && seen.back() == 2);
}

TEST(model_search_is_deterministic_resumable_and_runs_through_the_hook) {
  const FixturePrompts in = fixture_prompts("tiny-a");
  const ModelIdentity id = model_identity(*in.fx.model, in.fx.model_dir);
  const SearchSettings settings;  // the defaults
  std::vector<SearchProgress> progress;
  SearchControl watch;
  watch.on_progress = [&](const SearchProgress& p) { progress.push_back(p); };
  const PatternFile f = search_patterns(*in.fx.model, id, in.prompts, settings, watch);
  const std::string text = serialize_pattern_file(f);
  summarize("tiny-a, 2 calibration prompts (97 and 397 tokens)", f);
  const auto layers = in.fx.model->config().text.layers;
  REQUIRE(!progress.empty());
  CHECK(progress.back().stage == SearchProgress::Stage::done && progress.back().done == 2 * layers &&
        progress.back().total == 2 * layers);
  for (std::size_t i = 1; i < progress.size(); ++i) CHECK(progress[i].done >= progress[i - 1].done);
  CHECK(f.inputs.size() == 2 && f.inputs[0].tokens == 97 && f.inputs[0].video_tokens == 45 && f.inputs[1].tokens == 397);
  CHECK(f.search->candidates == default_candidates());

  // The same search on a model with another thread count: byte-identical.
  const FixturePrompts single = fixture_prompts("tiny-a", 1);
  CHECK(serialize_pattern_file(search_patterns(*single.fx.model, id, single.prompts, settings)) == text);

  // The video as pixel values instead of features: the same choices (the inputs' hashes differ).
  std::vector<CalibrationPrompt> from_pixels = in.prompts;
  for (auto& p : from_pixels) {
    p.video_features = {};
    p.videos = std::span(&in.fx.pixels, 1);
  }
  const PatternFile pixels = search_patterns(*in.fx.model, id, from_pixels, settings);
  CHECK(pixels.layers == f.layers && pixels.inputs[0].sha256 != f.inputs[0].sha256);

  // Interrupted after three (prompt, layer) results, the last record half written: resuming gives the same file.
  fixtures::ScratchDir dir("model-search");
  std::atomic<bool> cancel{false};
  SearchControl stop;
  stop.checkpoint = dir.path() / "search.ckpt";
  stop.cancel = &cancel;
  stop.on_progress = [&](const SearchProgress& p) {
    if (p.done == 3) cancel = true;
  };
  CHECK_PATTERN_ERROR(search_patterns(*in.fx.model, id, in.prompts, settings, stop), ErrorCode::Cancelled, "cancelled");
  std::string ckpt = read_text(stop.checkpoint);
  CHECK(std::count(ckpt.begin(), ckpt.end(), '\n') == 4) << ckpt.size();  // header + 3 records
  std::ofstream(stop.checkpoint, std::ios::app) << R"({"prompt": 1, "layer": 1, "scores": [[0.5, )";
  cancel = false;
  std::int64_t first_done = -1;
  stop.on_progress = [&](const SearchProgress& p) {
    if (first_done < 0) first_done = p.done;
  };
  CHECK(serialize_pattern_file(search_patterns(*in.fx.model, id, in.prompts, settings, stop)) == text);
  CHECK(first_done == 3);

  // The result runs through the sparse pre-fill of the longer prompt.
  const auto path = dir.path() / "patterns.json";
  save_pattern_file(f, path);
  SparsePrefillOptions o;
  o.dense_below_tokens = 0;
  const SparsePrefill hook(*in.fx.model, std::make_shared<const PatternFile>(load_pattern_file(path, &id)), o);
  const auto dense = fixture::prefill(in.fx, in.longer, nullptr);
  const auto sparse = fixture::prefill(in.fx, in.longer, &hook);
  double density = 0.0;
  for (const HeadReport& r : hook.reports()) density += r.density / static_cast<double>(hook.reports().size());
  std::printf("  searched file on the 397-token prompt: mean density %.3f, logits vs dense %.2e\n", density,
              fixture::rel_error(sparse, dense));
  for (const HeadReport& r : hook.reports()) CHECK(r.applied == f.layers[r.layer][r.head].pattern.pattern);

  if (const char* out = std::getenv("MMI_WRITE_PATTERN_FILES")) save_pattern_file(f, std::filesystem::path(out) / "tiny-a.json");
}

TEST(tiny_b_search) {
  const FixturePrompts in = fixture_prompts("tiny-b");
  const ModelIdentity id = model_identity(*in.fx.model, in.fx.model_dir);
  const PatternFile f = search_patterns(*in.fx.model, id, in.prompts, SearchSettings{});
  summarize("tiny-b, 2 calibration prompts (85 and 385 tokens)", f);
  CHECK(f.inputs.size() == 2 && f.inputs[1].tokens == 385);
  if (const char* out = std::getenv("MMI_WRITE_PATTERN_FILES")) save_pattern_file(f, std::filesystem::path(out) / "tiny-b.json");
}

TEST(checkpoints_of_another_search_and_bad_inputs_are_refused) {
  const planted::Prompt p = planted::prompt(1);
  const ModelIdentity id = planted::identity(1);
  fixtures::ScratchDir dir("search-refusals");
  SearchControl c;
  c.checkpoint = dir.path() / "search.ckpt";
  search_patterns_qk(id, std::span(&p.prompt, 1), few_candidates(), c);
  SearchSettings other = few_candidates();
  other.cost_target = 0.5;
  CHECK_PATTERN_ERROR(search_patterns_qk(id, std::span(&p.prompt, 1), other, c), ErrorCode::CheckpointInvalid,
                      "another search");
  std::ofstream(c.checkpoint) << "{\"format\": \"something else\"}\n";
  CHECK_PATTERN_ERROR(search_patterns_qk(id, std::span(&p.prompt, 1), other, c), ErrorCode::CheckpointInvalid,
                      "not a pattern search checkpoint");

  SearchControl none;
  CHECK_PATTERN_ERROR(search_patterns_qk(id, {}, few_candidates(), none), ErrorCode::InvalidInput, "at least one");
  SearchSettings bad = few_candidates();
  bad.cost_target = 0.0 - 1.0;
  CHECK_PATTERN_ERROR(search_patterns_qk(id, std::span(&p.prompt, 1), bad, none), ErrorCode::InvalidInput,
                      "search.cost_target");
  bad = few_candidates();
  bad.candidates[0].local_tokens = Budget::fixed_count(-5);
  CHECK_PATTERN_ERROR(search_patterns_qk(id, std::span(&p.prompt, 1), bad, none), ErrorCode::InvalidInput,
                      "search.candidates[0].budgets.local_tokens.count");
  ModelIdentity wrong = id;
  wrong.heads = 5;
  CHECK_PATTERN_ERROR(search_patterns_qk(wrong, std::span(&p.prompt, 1), few_candidates(), none), ErrorCode::InvalidInput,
                      "heads");
  mmi::patterns::QkPrompt named = p.prompt;
  named.name = "\xff";
  CHECK_PATTERN_ERROR(search_patterns_qk(id, std::span(&named, 1), few_candidates(), none), ErrorCode::InvalidInput, "UTF-8");

  const fixture::Fixture fx = fixture::load("tiny-b");
  ModelIdentity other_model = model_identity(*fx.model, fx.model_dir);
  other_model.layers += 1;
  CHECK_PATTERN_ERROR(search_patterns(*fx.model, other_model, {}, SearchSettings{}), ErrorCode::InvalidInput, "identity");
}

TEST(committed_pattern_files_fit_their_fixtures) {
  for (const char* name : {"tiny-a", "tiny-b"}) {
    const fixture::Fixture fx = fixture::load(name);
    const ModelIdentity id = model_identity(*fx.model, fx.model_dir);
    const auto path = std::filesystem::path(MMI_PATTERN_FILES_DIR) / (std::string(name) + ".json");
    const auto file = std::make_shared<const PatternFile>(load_pattern_file(path, &id));
    CHECK(file->search.has_value() && file->inputs.size() == 2);
    SparsePrefillOptions o;
    o.dense_below_tokens = 0;
    const SparsePrefill hook(*fx.model, file, o);
    const auto logits = fixture::prefill(fx, fx.prompt, &hook);
    // At 97 / 85 tokens every block is the first or the diagonal one: the searched patterns keep every key.
    CHECK(fixture::rel_error(logits, fx.reference_last_logits) < 1e-3) << name;
  }
}
