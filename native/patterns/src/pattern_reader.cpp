// Strict reading of pattern files: every field checked against the schema (pattern-file.schema.json) with errors
// that name the file and the JSON path.
#include <cmath>
#include <initializer_list>
#include <string>

#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/config.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/json.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;
using runtime::Json;

namespace {

constexpr std::int64_t kMaxLayers = 4096;
constexpr std::int64_t kMaxHeads = 1024;
constexpr std::int64_t kMaxInputs = 100000;
constexpr std::int64_t kMaxCandidates = 4096;
constexpr std::size_t kMaxName = 4096;
constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// A JSON node with the path that leads to it, for errors.
class Node {
 public:
  Node(const Json& json, std::string path, const std::string& file) : json_(json), path_(std::move(path)), file_(file) {}

  [[noreturn]] void fail(ErrorCode code, const std::string& detail) const { throw Error(code, file_, path_, detail); }

  const std::string& path() const { return path_; }

  // An object whose keys are all in `allowed`.
  const Node& object(std::initializer_list<std::string_view> allowed) const {
    const Json::Object* obj = json_.as_object();
    if (obj == nullptr) fail(ErrorCode::InvalidField, "expected an object");
    for (const auto& [k, v] : *obj) {
      bool known = false;
      for (std::string_view a : allowed) known = known || a == k;
      if (!known) child(k, v).fail(ErrorCode::InvalidField, "not a field of the pattern file schema here");
    }
    return *this;
  }

  bool has(std::string_view key) const { return json_.find(key) != nullptr; }

  Node at(std::string_view key) const {
    const Json* v = json_.find(key);
    if (v == nullptr) child(key, json_).fail(ErrorCode::InvalidField, "missing");
    return child(key, *v);
  }

  const Json::Array& array(std::int64_t max_items) const {
    const Json::Array* a = json_.as_array();
    if (a == nullptr) fail(ErrorCode::InvalidField, "expected an array");
    if (static_cast<std::int64_t>(a->size()) > max_items) {
      fail(ErrorCode::InvalidField, "more than " + std::to_string(max_items) + " items");
    }
    return *a;
  }

  Node item(const Json::Array& a, std::size_t i) const { return Node(a[i], path_ + "[" + std::to_string(i) + "]", file_); }

  std::int64_t integer(std::int64_t min, std::int64_t max) const {
    const auto i = json_.as_int();
    if (!i) fail(ErrorCode::InvalidField, "expected an integer");
    if (*i < min || *i > max) {
      fail(ErrorCode::InvalidField, std::to_string(*i) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return *i;
  }

  double number(double min, double max) const {
    const Json::Number* n = json_.as_number();
    if (n == nullptr || !std::isfinite(n->value)) fail(ErrorCode::InvalidField, "expected a finite number");
    if (n->value < min || n->value > max) {
      fail(ErrorCode::InvalidField, std::to_string(n->value) + " is outside [" + std::to_string(min) + ", " +
                                        std::to_string(max) + "]");
    }
    return n->value;
  }

  // A budget count or fraction: negative values are NegativeBudget, whatever their type.
  void not_negative() const {
    const Json::Number* n = json_.as_number();
    if (n != nullptr && n->value < 0) fail(ErrorCode::NegativeBudget, "a budget cannot be negative (" + std::to_string(n->value) + ")");
  }

  const std::string& string(std::size_t max_length) const {
    const std::string* s = json_.as_string();
    if (s == nullptr) fail(ErrorCode::InvalidField, "expected a string");
    if (s->size() > max_length) fail(ErrorCode::InvalidField, "longer than " + std::to_string(max_length) + " bytes");
    return *s;
  }

  std::string sha256() const {
    const std::string& s = string(64);
    bool hex = s.size() == 64;
    for (char c : s) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex) fail(ErrorCode::InvalidField, "expected 64 lowercase hexadecimal digits");
    return s;
  }

 private:
  Node child(std::string_view key, const Json& v) const {
    return Node(v, path_.empty() ? std::string(key) : path_ + "." + std::string(key), file_);
  }

  const Json& json_;
  std::string path_;
  const std::string& file_;
};

Budget read_budget(const Node& node, bool count_only) {
  if (count_only) {
    node.object({"count"});
  } else {
    node.object({"count", "reference_tokens", "fraction"});
  }
  if (node.has("fraction")) {
    if (node.has("count") || node.has("reference_tokens")) {
      node.fail(ErrorCode::InvalidField, "a budget is either {fraction} or {count[, reference_tokens]}");
    }
    const Node f = node.at("fraction");
    f.not_negative();
    return Budget::of(f.number(0.0, 1.0));
  }
  const Node c = node.at("count");
  c.not_negative();
  const std::int64_t count = c.integer(0, kMaxBudgetCount);
  if (!node.has("reference_tokens")) return Budget::fixed_count(count);
  return Budget::scaled_count(count, node.at("reference_tokens").integer(1, kMaxBudgetCount));
}

VerticalSlashBudgets read_vs(const Node& node) {
  node.object({"vertical", "slash"});
  return {read_budget(node.at("vertical"), false), read_budget(node.at("slash"), false)};
}

att::Pattern read_pattern_name(const Node& node) {
  const std::string& name = node.string(64);
  const auto p = pattern_from_name(name);
  if (!p) {
    node.fail(ErrorCode::UnknownPattern, "'" + name + "' is not a pattern (dense, a_shape, vertical_slash, block_sparse, "
                                                      "grid, q_boundary, two_d_boundary)");
  }
  return *p;
}

HeadPattern read_budgets(att::Pattern pattern, const Node& b) {
  switch (pattern) {
    case att::Pattern::dense: b.object({}); return HeadPattern::dense();
    case att::Pattern::a_shape:
      b.object({"sink_tokens", "local_tokens"});
      return HeadPattern::a_shape(read_budget(b.at("sink_tokens"), false), read_budget(b.at("local_tokens"), false));
    case att::Pattern::vertical_slash:
      b.object({"vertical", "slash"});
      return HeadPattern::vertical_slash_of(read_vs(b));
    case att::Pattern::block_sparse:
      b.object({"top_k_blocks"});
      return HeadPattern::block_sparse(read_budget(b.at("top_k_blocks"), false));
    case att::Pattern::grid:
      b.object({"sink_tokens", "local_tokens", "grid_lines"});
      return HeadPattern::grid(read_budget(b.at("sink_tokens"), false), read_budget(b.at("local_tokens"), false),
                               read_budget(b.at("grid_lines"), true).count);
    case att::Pattern::q_boundary:
      b.object({"text_rows", "video_rows"});
      return HeadPattern::q_boundary(read_vs(b.at("text_rows")), read_vs(b.at("video_rows")));
    case att::Pattern::two_d_boundary:
      b.object({"text_to_text", "text_to_video", "video_to_text", "video_to_video"});
      return HeadPattern::two_d_boundary(read_vs(b.at("text_to_text")), read_vs(b.at("text_to_video")),
                                         read_vs(b.at("video_to_text")), read_vs(b.at("video_to_video")));
  }
  b.fail(ErrorCode::UnknownPattern, "unknown pattern");
}

// {pattern, budgets} plus the keys a caller allows besides them.
HeadPattern read_head_pattern(const Node& node) {
  return read_budgets(read_pattern_name(node.at("pattern")), node.at("budgets"));
}

HeadStats read_stats(const Node& node) {
  node.object({"recall", "density", "cost"});
  return {node.at("recall").number(0.0, 1.0), node.at("density").number(0.0, 1.0), node.at("cost").number(0.0, kMaxCost)};
}

ModelIdentity read_model(const Node& node) {
  node.object({"family", "layers", "heads", "kv_heads", "head_dim", "config_sha256"});
  ModelIdentity m;
  const Node family = node.at("family");
  m.family = family.string(64);
  bool ok = !m.family.empty();
  for (char c : m.family) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) family.fail(ErrorCode::InvalidField, "expected a model family name ([a-z0-9_]+)");
  m.layers = node.at("layers").integer(1, kMaxLayers);
  m.heads = node.at("heads").integer(1, kMaxHeads);
  const Node kv = node.at("kv_heads");
  m.kv_heads = kv.integer(1, m.heads);
  if (m.heads % m.kv_heads != 0) kv.fail(ErrorCode::InvalidField, "heads must be a multiple of kv_heads");
  m.head_dim = node.at("head_dim").integer(1, att::kMaxHeadDim);
  m.config_sha256 = node.at("config_sha256").sha256();
  return m;
}

std::vector<CalibrationInput> read_calibration(const Node& node) {
  node.object({"inputs"});
  const Node list = node.at("inputs");
  const Json::Array& a = list.array(kMaxInputs);
  std::vector<CalibrationInput> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Node in = list.item(a, i);
    in.object({"name", "tokens", "video_tokens", "sha256"});
    CalibrationInput c;
    c.name = in.at("name").string(kMaxName);
    c.tokens = in.at("tokens").integer(1, kMaxBudgetCount);
    c.video_tokens = in.at("video_tokens").integer(0, c.tokens);
    c.sha256 = in.at("sha256").sha256();
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<HeadPattern> read_candidates(const Node& list) {
  const Json::Array& a = list.array(kMaxCandidates);
  if (a.empty()) list.fail(ErrorCode::InvalidField, "the search had no candidates");
  std::vector<HeadPattern> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Node c = list.item(a, i);
    c.object({"pattern", "budgets"});
    out.push_back(read_head_pattern(c));
  }
  return out;
}

SearchSettings read_search(const Node& node) {
  node.object({"cost_target", "recall_samples", "tie_tolerance", "dense_below_recall", "candidates"});
  SearchSettings s;
  s.cost_target = node.at("cost_target").number(0.0, 1.0);
  s.recall_samples = node.at("recall_samples").integer(1, 1 << 20);
  s.tie_tolerance = node.at("tie_tolerance").number(0.0, 1.0);
  s.dense_below_recall = node.at("dense_below_recall").number(0.0, 1.0);
  s.candidates = read_candidates(node.at("candidates"));
  return s;
}

std::vector<std::vector<HeadEntry>> read_layers(const Node& node, const ModelIdentity& model) {
  const Json::Array& layers = node.array(kMaxLayers);
  if (static_cast<std::int64_t>(layers.size()) != model.layers) {
    node.fail(ErrorCode::WrongShape, std::to_string(layers.size()) + " layers, but model.layers is " + std::to_string(model.layers));
  }
  std::vector<std::vector<HeadEntry>> out(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const Node layer = node.item(layers, l);
    layer.object({"layer", "heads"});
    const Node index = layer.at("layer");
    if (index.integer(0, kMaxLayers) != static_cast<std::int64_t>(l)) {
      index.fail(ErrorCode::WrongShape, "layers must be listed in order (expected " + std::to_string(l) + ")");
    }
    const Node head_list = layer.at("heads");
    const Json::Array& heads = head_list.array(kMaxHeads);
    if (static_cast<std::int64_t>(heads.size()) != model.heads) {
      head_list.fail(ErrorCode::WrongShape,
                     std::to_string(heads.size()) + " heads, but model.heads is " + std::to_string(model.heads));
    }
    for (std::size_t h = 0; h < heads.size(); ++h) {
      const Node head = head_list.item(heads, h);
      head.object({"head", "pattern", "budgets", "calibration"});
      const Node hi = head.at("head");
      if (hi.integer(0, kMaxHeads) != static_cast<std::int64_t>(h)) {
        hi.fail(ErrorCode::WrongShape, "heads must be listed in order (expected " + std::to_string(h) + ")");
      }
      HeadEntry e;
      e.pattern = read_head_pattern(head);
      if (head.has("calibration")) e.calibration = read_stats(head.at("calibration"));
      out[l].push_back(std::move(e));
    }
  }
  return out;
}

PatternFile from_json(const Json& root_json, const std::string& file) {
  const Node root(root_json, "", file);
  if (root_json.as_object() == nullptr) root.fail(ErrorCode::UnsupportedVersion, "not a pattern file (expected a JSON object)");
  // Format and version first: a newer file should say so, not fail on a field this build does not know.
  const std::string* format = root_json.find("format") ? root_json.find("format")->as_string() : nullptr;
  if (format == nullptr || *format != kFormat) {
    root.fail(ErrorCode::UnsupportedVersion, "not a pattern file (\"format\" must be \"" + std::string(kFormat) + "\")");
  }
  const Json* version = root_json.find("schema_version");
  const auto v = version ? version->as_int() : std::nullopt;
  if (!v || *v != kSchemaVersion) {
    root.fail(ErrorCode::UnsupportedVersion, "schema_version must be " + std::to_string(kSchemaVersion) +
                                                 (v ? " (this file has " + std::to_string(*v) + ")" : ""));
  }
  root.object({"format", "schema_version", "model", "calibration", "search", "layers"});
  PatternFile out;
  out.model = read_model(root.at("model"));
  if (root.has("calibration")) out.inputs = read_calibration(root.at("calibration"));
  if (root.has("search")) out.search = read_search(root.at("search"));
  out.layers = read_layers(root.at("layers"), out.model);
  return out;
}

}  // namespace

PatternFile parse_pattern_file(std::string_view text, const std::string& file) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const runtime::JsonError& e) {
    throw Error(ErrorCode::InvalidJson, file, "", e.what());
  }
  return from_json(root, file);
}

std::vector<HeadPattern> parse_candidates(std::string_view text, const std::string& name) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const runtime::JsonError& e) {
    throw Error(ErrorCode::InvalidJson, name, "", e.what());
  }
  return read_candidates(Node(root, "candidates", name));
}

PatternFile load_pattern_file(const std::filesystem::path& path, const ModelIdentity* expect, const LoadOptions& options) {
  const std::string name = path.string();
  Json root;
  try {
    root = runtime::read_json_file(name, kMaxFileBytes);
  } catch (const runtime::Error& e) {
    const ErrorCode code = e.code() == runtime::ErrorCode::FileNotFound     ? ErrorCode::FileNotFound
                           : e.code() == runtime::ErrorCode::FileUnreadable ? ErrorCode::FileUnreadable
                                                                            : ErrorCode::InvalidJson;
    throw Error(code, name, "", e.detail());
  }
  PatternFile file = from_json(root, name);
  if (expect != nullptr) check_model(file, *expect, options, name);
  return file;
}

void check_model(const PatternFile& file, const ModelIdentity& model, const LoadOptions& options,
                 const std::string& file_name) {
  const ModelIdentity& m = file.model;
  auto differ = [&](const std::string& field, const std::string& ours, const std::string& theirs) {
    throw Error(ErrorCode::WrongModel, file_name, "model." + field,
                "the file was made for a model with " + field + " " + ours + ", this model has " + theirs);
  };
  if (m.family != model.family) differ("family", m.family, model.family);
  const std::pair<const char*, std::pair<std::int64_t, std::int64_t>> sizes[] = {
      {"layers", {m.layers, model.layers}},
      {"heads", {m.heads, model.heads}},
      {"kv_heads", {m.kv_heads, model.kv_heads}},
      {"head_dim", {m.head_dim, model.head_dim}},
  };
  for (const auto& [field, v] : sizes) {
    if (v.first != v.second) differ(field, std::to_string(v.first), std::to_string(v.second));
  }
  if (options.require_same_config && m.config_sha256 != model.config_sha256) {
    differ("config_sha256", m.config_sha256, model.config_sha256);
  }
  // The layer/head lists were checked against file.model when parsed; a file built in code is checked here.
  if (static_cast<std::int64_t>(file.layers.size()) != model.layers) {
    throw Error(ErrorCode::WrongShape, file_name, "layers", std::to_string(file.layers.size()) + " layers for a model of " +
                                                                std::to_string(model.layers));
  }
  for (std::size_t l = 0; l < file.layers.size(); ++l) {
    if (static_cast<std::int64_t>(file.layers[l].size()) != model.heads) {
      throw Error(ErrorCode::WrongShape, file_name, "layers[" + std::to_string(l) + "].heads",
                  std::to_string(file.layers[l].size()) + " heads for a model of " + std::to_string(model.heads));
    }
  }
}

const HeadEntry& PatternFile::at(std::int64_t layer, std::int64_t head) const {
  if (layer < 0 || layer >= static_cast<std::int64_t>(layers.size()) || head < 0 ||
      head >= static_cast<std::int64_t>(layers[static_cast<std::size_t>(layer)].size())) {
    throw Error(ErrorCode::WrongShape, "", "layers[" + std::to_string(layer) + "].heads[" + std::to_string(head) + "]",
                "no such head in the pattern file");
  }
  return layers[static_cast<std::size_t>(layer)][static_cast<std::size_t>(head)];
}

PatternFile dense_pattern_file(const ModelIdentity& model) {
  PatternFile f;
  f.model = model;
  f.layers.assign(static_cast<std::size_t>(model.layers), std::vector<HeadEntry>(static_cast<std::size_t>(model.heads)));
  return f;
}

}  // namespace mmi::patterns
