// Pattern files: budgets resolved against hand-computed counts, byte-identical round trips, hostile files refused
// with typed errors that name the field, the model check, and SHA-256 against the standard's vectors and sha256sum.
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "fixture_paths.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "pattern_checks.hpp"
#include "sha256.hpp"

using namespace mmi::patterns;
namespace att = mmi::attention;

namespace {

VerticalSlashBudgets vs(std::int64_t v, std::int64_t s) { return {Budget::fixed_count(v), Budget::fixed_count(s)}; }

ModelIdentity tiny_identity() { return {"qwen2_5_vl", 2, 7, 1, 16, std::string(64, 'c')}; }

// Every pattern, every budget form, calibration stats on some heads, inputs and settings.
PatternFile sample_file() {
  const ModelIdentity m = tiny_identity();
  PatternFile f = dense_pattern_file(m);
  const HeadPattern patterns[] = {
      HeadPattern::dense(),
      HeadPattern::a_shape(Budget::fixed_count(128), Budget::of(1.0 / 32)),
      HeadPattern::vertical_slash_of({Budget::scaled_count(1000, 131072), Budget::scaled_count(6096, 131072)}),
      HeadPattern::block_sparse(Budget::of(0.0625)),
      HeadPattern::grid(Budget::fixed_count(64), Budget::of(1.0 / 64), 4),
      HeadPattern::q_boundary(vs(100, 800), {Budget::of(0.01), Budget::scaled_count(3, 7)}),
      HeadPattern::two_d_boundary(vs(1, 2), vs(3, 4), vs(5, 6), vs(7, 8)),
  };
  for (std::size_t l = 0; l < f.layers.size(); ++l) {
    for (std::size_t h = 0; h < f.layers[l].size(); ++h) {
      f.layers[l][h].pattern = patterns[(h + l) % std::size(patterns)];
      if (h % 2 == 0) f.layers[l][h].calibration = HeadStats{0.1 + 0.1 * double(h), 1.0 / 3.0, 1.25};
    }
  }
  f.inputs = {{"clip \"one\".mp4", 4096, 4000, std::string(64, 'a')}, {"two\n\t√", 97, 45, std::string(64, 'b')}};
  SearchSettings s;
  s.candidates = {patterns[1], patterns[2], patterns[6]};
  s.cost_target = 0.125;
  f.search = s;
  return f;
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("sample lacks '" + from + "'");
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST(sha256_matches_the_standard_vectors) {
  using mmi::patterns::detail::sha256_hex;
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  mmi::patterns::detail::Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.update(chunk.data(), 7).update(chunk.data() + 7, 993);  // odd splits
  CHECK(million.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(model_identity_hashes_config_json_like_sha256sum) {
  for (const char* name : {"tiny-a", "tiny-b"}) {
    const auto dir = fixtures::dir(name) / "model";
    const auto model = mmi::qwen2_5_vl::Model::load(dir, {1, 1, 512});
    const ModelIdentity id = model_identity(*model, dir);
    std::string out(64, '\0');
    FILE* p = ::popen(("sha256sum '" + (dir / "config.json").string() + "'").c_str(), "r");
    REQUIRE(p != nullptr);
    const std::size_t got = std::fread(out.data(), 1, out.size(), p);
    ::pclose(p);
    CHECK(got == 64 && id.config_sha256 == out) << name << ": " << id.config_sha256 << " vs " << out;
    CHECK(id.family == "qwen2_5_vl" && id.layers == model->config().text.layers && id.heads == model->config().text.heads &&
          id.kv_heads == model->config().text.kv_heads && id.head_dim == model->config().text.head_dim);
  }
  CHECK_PATTERN_ERROR(model_identity(*mmi::qwen2_5_vl::Model::load(fixtures::dir("tiny-a") / "model", {1, 1, 512}), "/nonexistent"),
                      ErrorCode::FileNotFound, "config.json");
}

TEST(budgets_resolve_against_the_prompt_length) {
  CHECK(Budget::fixed_count(128).resolve(5000, 5000) == 128);
  CHECK(Budget::scaled_count(1000, 131072).resolve(131072, 131072) == 1000);
  CHECK(Budget::scaled_count(1000, 131072).resolve(65536, 65536) == 500);
  CHECK(Budget::scaled_count(1000, 131072).resolve(1000, 1000) == 8);  // 7.63 rounded up
  CHECK(Budget::of(0.25).resolve(1001, 1001) == 251);
  CHECK(Budget::of(0.0).resolve(1001, 1001) == 0);
  const att::PatternConfig a = to_config(HeadPattern::a_shape(Budget::fixed_count(64), Budget::of(1.0 / 32)), 4096);
  CHECK(a.pattern == att::Pattern::a_shape && a.sink_tokens == 64 && a.local_tokens == 128);
  // top_k_blocks: a fraction of the key blocks, not of the tokens.
  const att::PatternConfig b = to_config(HeadPattern::block_sparse(Budget::of(0.1)), 4096);
  CHECK(b.top_k_blocks == 7) << b.top_k_blocks;
  const att::PatternConfig g = to_config(HeadPattern::grid(Budget::fixed_count(64), Budget::of(0.5), 3), 100);
  CHECK(g.grid_lines == 3 && g.local_tokens == 50 && g.sink_tokens == 64);
  const att::PatternConfig q = to_config(HeadPattern::q_boundary(vs(1, 2), vs(3, 4)), 10);
  CHECK(q.text_rows.vertical == 1 && q.text_rows.slash == 2 && q.video_rows.vertical == 3 && q.video_rows.slash == 4);
  // Per head of a file, [layer · heads + head].
  const PatternFile f = sample_file();
  const std::vector<att::PatternConfig> all = to_configs(f, 4096);
  CHECK(all.size() == 14);
  for (std::size_t l = 0; l < 2; ++l) {
    for (std::size_t h = 0; h < 7; ++h) CHECK(all[l * 7 + h].pattern == f.layers[l][h].pattern.pattern);
  }
  CHECK(all[1].local_tokens == 128);  // layer 0 head 1: a_shape with a band of N/32
  const att::PatternConfig d = to_config(HeadPattern::two_d_boundary(vs(1, 2), vs(3, 4), vs(5, 6), vs(7, 8)), 10);
  CHECK(d.text_to_text.slash == 2 && d.text_to_video.vertical == 3 && d.video_to_text.slash == 6 && d.video_to_video.vertical == 7);
}

TEST(files_round_trip_byte_for_byte) {
  const PatternFile f = sample_file();
  const std::string text = serialize_pattern_file(f);
  const PatternFile back = parse_pattern_file(text);
  CHECK(back == f);
  CHECK(serialize_pattern_file(back) == text);
  fixtures::ScratchDir dir("patterns");
  const auto path = dir.path() / "p.json";
  save_pattern_file(f, path);
  const ModelIdentity m = tiny_identity();
  CHECK(load_pattern_file(path, &m) == f);
  save_pattern_file(back, path);  // replacing an existing file
  std::ifstream in(path, std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == text);
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));
  // A hand-written file: no calibration, no search.
  const PatternFile dense = dense_pattern_file(m);
  CHECK(parse_pattern_file(serialize_pattern_file(dense)) == dense);
  CHECK(serialize_pattern_file(dense).find("calibration") == std::string::npos);
  std::printf("  sample file: %zu bytes\n", text.size());
}

TEST(hostile_files_are_refused_with_the_field_named) {
  const std::string good = serialize_pattern_file(sample_file());
  struct Case {
    std::string text;
    ErrorCode code;
    std::string mention;
  };
  const std::string head12 = R"({"head": 4, "pattern": "grid")";
  const Case cases[] = {
      {"", ErrorCode::InvalidJson, "JSON"},
      {good.substr(0, good.size() / 2), ErrorCode::InvalidJson, "JSON"},
      {"[1, 2]", ErrorCode::UnsupportedVersion, "not a pattern file"},
      {replace_once(good, "\"mmi-pattern-file\"", "\"other\""), ErrorCode::UnsupportedVersion, "format"},
      {replace_once(good, "\"schema_version\": 1", "\"schema_version\": 2"), ErrorCode::UnsupportedVersion, "has 2"},
      {replace_once(good, "\"schema_version\": 1,", ""), ErrorCode::UnsupportedVersion, "schema_version"},
      {replace_once(good, head12, R"({"head": 4, "pattern": "diagonal")"), ErrorCode::UnknownPattern,
       "layers[0].heads[4].pattern: 'diagonal' is not a pattern"},
      {replace_once(good, head12, R"({"head": 4, "pattern": 7)"), ErrorCode::InvalidField, "expected a string"},
      {replace_once(good, "\"layers\": 2", "\"layers\": 3"), ErrorCode::WrongShape, "2 layers, but model.layers is 3"},
      {replace_once(good, "\"heads\": 7", "\"heads\": 14"), ErrorCode::WrongShape, "layers[0].heads: 7 heads"},
      {replace_once(good, R"({"head": 1,)", R"({"head": 0,)"), ErrorCode::WrongShape, "in order"},
      {replace_once(good, R"("sink_tokens": {"count": 128})", R"("sink_tokens": {"count": -128})"),
       ErrorCode::NegativeBudget, "sink_tokens.count: a budget cannot be negative"},
      {replace_once(good, R"({"fraction": 0.0625})", R"({"fraction": -0.5})"), ErrorCode::NegativeBudget,
       "top_k_blocks.fraction"},
      {replace_once(good, R"({"fraction": 0.0625})", R"({"fraction": 1.5})"), ErrorCode::InvalidField, "outside"},
      {replace_once(good, R"({"count": 128})", R"({"count": 1099511627776})"), ErrorCode::InvalidField, "outside"},
      {replace_once(good, R"({"count": 128})", R"({"count": 12.5})"), ErrorCode::InvalidField, "integer"},
      {replace_once(good, R"("reference_tokens": 131072)", R"("reference_tokens": 0)"), ErrorCode::InvalidField,
       "reference_tokens"},
      {replace_once(good, R"({"fraction": 0.0625})", R"({"fraction": 0.5, "count": 3})"), ErrorCode::InvalidField,
       "either"},
      {replace_once(good, R"("grid_lines": {"count": 4})", R"("grid_lines": {"fraction": 0.5})"),
       ErrorCode::InvalidField, "grid_lines.fraction"},
      {replace_once(good, R"("budgets": {"sink_tokens": {"count": 128}, )", R"("budgets": {)"), ErrorCode::InvalidField,
       "sink_tokens: missing"},
      {replace_once(good, R"("budgets": {})", R"("budgets": {"vertical": {"count": 1}})"), ErrorCode::InvalidField,
       "budgets.vertical: not a field"},
      {replace_once(good, R"("model": {)", R"("model": {"extra": 1, )"), ErrorCode::InvalidField, "model.extra"},
      {replace_once(good, R"("kv_heads": 1)", R"("kv_heads": 2)"), ErrorCode::InvalidField, "multiple"},
      {replace_once(good, std::string(64, 'c'), std::string(63, 'c') + "C"), ErrorCode::InvalidField, "hexadecimal"},
      {replace_once(good, R"("recall": 0.1)", R"("recall": 1.1)"), ErrorCode::InvalidField, "recall"},
      {replace_once(good, R"("cost_target": 0.125)", R"("cost_target": "high")"), ErrorCode::InvalidField,
       "search.cost_target"},
      {replace_once(good, R"("tokens": 97)", R"("tokens": 97, "tokens": 98)"), ErrorCode::InvalidJson, "duplicate"},
      {replace_once(good, "\"layers\": [", "\"layers\": " + std::string(100, '[')), ErrorCode::InvalidJson, "JSON"},
      {replace_once(good, R"("name": "two)", "\"name\": \"\xff\xfe"), ErrorCode::InvalidJson, "JSON"},
  };
  for (const Case& c : cases) CHECK_PATTERN_ERROR(parse_pattern_file(c.text, "p.json"), c.code, c.mention);

  // Random damage: every outcome is a typed error or a valid file, never a crash (the sanitizer build checks).
  std::mt19937_64 rng(5);
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string t = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[at] = static_cast<char>(rng() % 256); break;
        case 1: t.erase(at, 1 + rng() % 40); break;
        default: t.insert(at, 1, "{}[]\",:-0e9"[rng() % 11]); break;
      }
    }
    try {
      (void)parse_pattern_file(t);
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(refused > 250) << refused;
}

TEST(files_of_another_model_are_refused) {
  fixtures::ScratchDir dir("patterns");
  const auto path = dir.path() / "p.json";
  save_pattern_file(sample_file(), path);
  ModelIdentity other = tiny_identity();
  other.layers = 3;
  CHECK_PATTERN_ERROR(load_pattern_file(path, &other), ErrorCode::WrongModel, "model.layers: the file was made for a model with layers 2, this model has 3");
  other = tiny_identity();
  other.head_dim = 32;
  CHECK_PATTERN_ERROR(load_pattern_file(path, &other), ErrorCode::WrongModel, "head_dim");
  other = tiny_identity();
  other.family = "qwen2_vl";
  CHECK_PATTERN_ERROR(load_pattern_file(path, &other), ErrorCode::WrongModel, "family");
  other = tiny_identity();
  other.config_sha256 = std::string(64, 'd');
  CHECK_PATTERN_ERROR(load_pattern_file(path, &other), ErrorCode::WrongModel, "config_sha256");
  LoadOptions lenient;
  lenient.require_same_config = false;
  CHECK(load_pattern_file(path, &other, lenient) == sample_file());
  CHECK_PATTERN_ERROR(load_pattern_file(dir.path() / "missing.json"), ErrorCode::FileNotFound, "missing.json");
  CHECK_PATTERN_ERROR(save_pattern_file(sample_file(), dir.path() / "no" / "such" / "dir.json"), ErrorCode::FileUnwritable, "dir.json");
}
