#include "mmi/qwen2_5_vl/config.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "mmi/runtime/config.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl {

using runtime::ConfigView;
using runtime::Error;
using runtime::ErrorCode;

bool VisionConfig::is_full_attention(std::int64_t block) const {
  return std::find(fullatt_blocks.begin(), fullatt_blocks.end(), block) != fullatt_blocks.end();
}

namespace {

void check(bool ok, const ConfigView& c, const std::string& key, const std::string& why) {
  if (!ok) throw Error(ErrorCode::ConfigInvalid, c.file(), c.key_path(key), why);
}

std::int64_t positive(const ConfigView& c, const std::string& key) {
  const std::int64_t v = c.get_int(key);
  check(v > 0 && v <= (1ll << 31), c, key, "must be a positive integer");
  return v;
}

// An optional size with a default, bounded so that the products built from it (patch_dim, merge_unit) stay far
// from overflowing: a config.json that lies cannot make them wrap.
std::int64_t small_size(const ConfigView& c, const std::string& key, std::int64_t fallback, std::int64_t max) {
  const std::int64_t v = c.opt_int(key).value_or(fallback);
  check(v > 0 && v <= max, c, key, "must be an integer in [1, " + std::to_string(max) + "], got " + std::to_string(v));
  return v;
}

void check_silu(const ConfigView& c) {
  if (auto act = c.opt_string("hidden_act")) check(*act == "silu", c, "hidden_act", "only silu is supported, got " + *act);
}

// eos_token_id may be one id or a list; absent or null gives none.
void add_eos_ids(const runtime::Json* node, const std::string& file, const std::string& key, std::int64_t vocab,
                 std::vector<std::int32_t>& out) {
  const runtime::Json* v = node ? node->find("eos_token_id") : nullptr;
  if (v == nullptr || v->is_null()) return;
  std::vector<runtime::Json> items;
  if (const auto* arr = v->as_array()) {
    items = *arr;
  } else {
    items.push_back(*v);
  }
  for (const auto& item : items) {
    auto id = item.as_int();
    if (!id || *id < 0 || *id >= vocab) {
      throw Error(ErrorCode::ConfigInvalid, file, key, "expected token ids inside the vocabulary");
    }
    if (std::find(out.begin(), out.end(), static_cast<std::int32_t>(*id)) == out.end()) {
      out.push_back(static_cast<std::int32_t>(*id));
    }
  }
}

VisionConfig parse_vision(const ConfigView& v) {
  VisionConfig c;
  c.depth = positive(v, "depth");
  c.hidden = positive(v, "hidden_size");
  c.heads = v.has("num_heads") ? positive(v, "num_heads") : positive(v, "num_attention_heads");
  c.intermediate = positive(v, "intermediate_size");
  c.out_hidden = positive(v, "out_hidden_size");
  c.in_channels = v.opt_int("in_channels").value_or(v.opt_int("in_chans").value_or(3));
  c.patch = small_size(v, "patch_size", 14, 1024);
  c.temporal_patch = small_size(v, "temporal_patch_size", 2, 64);
  c.merge = small_size(v, "spatial_merge_size", 2, 64);
  c.window_size = small_size(v, "window_size", 112, 1 << 20);
  c.fullatt_blocks = v.opt_int_array("fullatt_block_indexes").value_or(std::vector<std::int64_t>{});
  c.tokens_per_second = small_size(v, "tokens_per_second", 2, 1 << 20);
  if (auto rope = v.child("rope_parameters")) {
    c.rope_theta = rope->opt_number("rope_theta").value_or(10000.0);
    check(c.rope_theta > 0, *rope, "rope_theta", "must be positive");
  }
  check_silu(v);
  check(c.hidden % c.heads == 0, v, "num_heads", "hidden_size must be divisible by num_heads");
  c.head_dim = c.hidden / c.heads;
  check(c.head_dim % 4 == 0, v, "num_heads", "head dimension must be a multiple of 4 for the 2D rotary");
  check(c.in_channels == 3, v, "in_channels", "must be 3");
  check(c.window_cells() > 0, v, "window_size", "must cover at least one merged cell");
  for (auto b : c.fullatt_blocks) check(b >= 0 && b < c.depth, v, "fullatt_block_indexes", "index out of range");
  return c;
}

TextConfig parse_text(const ConfigView& t, const ConfigView& root) {
  TextConfig c;
  c.vocab = positive(t, "vocab_size");
  c.hidden = positive(t, "hidden_size");
  c.intermediate = positive(t, "intermediate_size");
  c.layers = positive(t, "num_hidden_layers");
  c.heads = positive(t, "num_attention_heads");
  c.kv_heads = t.has("num_key_value_heads") ? positive(t, "num_key_value_heads") : c.heads;
  const double eps = t.opt_number("rms_norm_eps").value_or(1e-6);
  check(eps > 0 && eps <= 1, t, "rms_norm_eps", "must be in (0, 1]");
  c.rms_eps = static_cast<float>(eps);
  c.max_position_embeddings = t.opt_int("max_position_embeddings").value_or(0);
  check_silu(t);
  check(c.hidden % c.heads == 0, t, "num_attention_heads", "hidden_size must be divisible by num_attention_heads");
  c.head_dim = c.hidden / c.heads;
  check(c.head_dim % 2 == 0, t, "num_attention_heads", "head dimension must be even");
  check(c.heads % c.kv_heads == 0, t, "num_key_value_heads", "must divide num_attention_heads");
  if (auto sw = t.opt_bool("use_sliding_window")) check(!*sw, t, "use_sliding_window", "sliding window is not supported");

  // Rotary: rope_parameters (newer) or rope_scaling + rope_theta (released checkpoints).
  std::optional<ConfigView> rope = t.child("rope_parameters");
  if (!rope) rope = t.child("rope_scaling");
  c.rope_theta = t.opt_number("rope_theta").value_or(1e6);
  if (!rope) throw Error(ErrorCode::ConfigMissingKey, t.file(), t.key_path("rope_scaling"), "M-RoPE sections are missing");
  if (auto theta = rope->opt_number("rope_theta")) c.rope_theta = *theta;
  const std::string type = rope->opt_string("rope_type").value_or(rope->opt_string("type").value_or("default"));
  check(type == "default" || type == "mrope", *rope, "rope_type", "only the default M-RoPE is supported, got " + type);
  const auto sec = rope->get_int_array("mrope_section");
  check(sec.size() == 3, *rope, "mrope_section", "must have three entries");
  for (std::size_t i = 0; i < 3; ++i) {
    // Bounded before the sum below, which must not overflow.
    check(sec[i] >= 0 && sec[i] <= c.head_dim, *rope, "mrope_section", "entries must be in [0, head_dim]");
    c.mrope_section[i] = sec[i];
  }
  check(sec[0] + sec[1] + sec[2] == c.head_dim / 2, *rope, "mrope_section", "must sum to head_dim / 2");
  check(c.rope_theta > 0, t, "rope_theta", "must be positive");

  c.tie_word_embeddings = t.opt_bool("tie_word_embeddings").value_or(root.opt_bool("tie_word_embeddings").value_or(false));
  if (root.opt_bool("tie_word_embeddings").value_or(false)) c.tie_word_embeddings = true;
  return c;
}

}  // namespace

Config parse_config(const runtime::Json& root_json, const std::string& file) {
  const ConfigView root(root_json, file);
  const std::string model_type = root.get_string("model_type");
  if (model_type != "qwen2_5_vl") {
    throw Error(ErrorCode::UnsupportedModel, file, "model_type",
                "'" + model_type + "' is not supported (this runtime reads qwen2_5_vl)");
  }
  Config c;
  const auto vision = root.child("vision_config");
  if (!vision) throw Error(ErrorCode::ConfigMissingKey, file, "vision_config", "required key is missing");
  c.vision = parse_vision(*vision);
  const auto text = root.child("text_config");
  c.text = parse_text(text ? *text : root, root);
  // Range-checked as int64, before the narrowing: 2^32 + 5 must not pass as token 5.
  auto token = [&](const char* key) {
    const std::int64_t id = root.get_int(key);
    check(id >= 0 && id < c.text.vocab, root, key,
          "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(c.text.vocab));
    return static_cast<std::int32_t>(id);
  };
  c.image_token_id = token("image_token_id");
  c.video_token_id = token("video_token_id");
  c.vision_start_token_id = token("vision_start_token_id");
  c.vision_end_token_id = token("vision_end_token_id");
  add_eos_ids(&root_json, file, "eos_token_id", c.text.vocab, c.eos_token_ids);
  add_eos_ids(root_json.find("text_config"), file, "text_config.eos_token_id", c.text.vocab, c.eos_token_ids);
  if (c.vision.out_hidden != c.text.hidden) {
    throw Error(ErrorCode::ConfigInvalid, file, "vision_config.out_hidden_size", "must equal the language model's hidden_size");
  }
  return c;
}

}  // namespace mmi::qwen2_5_vl
