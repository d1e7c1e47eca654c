// Qwen2.5-VL configuration, read from a model folder's config.json in either layout: the released checkpoints'
// (language-model keys at the top level, rope_scaling) or the one newer transformers writes (text_config,
// rope_parameters). Missing or unusable values are Errors naming config.json and the key.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mmi/runtime/json.hpp"

namespace mmi::qwen2_5_vl {

struct VisionConfig {
  std::int64_t depth = 0;
  std::int64_t hidden = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t intermediate = 0;
  std::int64_t out_hidden = 0;
  std::int64_t in_channels = 3;
  std::int64_t patch = 14;
  std::int64_t temporal_patch = 2;
  std::int64_t merge = 2;
  std::int64_t window_size = 112;  // pixels
  std::vector<std::int64_t> fullatt_blocks;
  std::int64_t tokens_per_second = 2;
  double rope_theta = 10000.0;
  float norm_eps = 1e-6f;  // fixed in the reference model

  std::int64_t patch_dim() const { return in_channels * temporal_patch * patch * patch; }
  std::int64_t merge_unit() const { return merge * merge; }
  // Window edge in merged cells.
  std::int64_t window_cells() const { return window_size / merge / patch; }
  bool is_full_attention(std::int64_t block) const;
};

struct TextConfig {
  std::int64_t vocab = 0;
  std::int64_t hidden = 0;
  std::int64_t intermediate = 0;
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  float rms_eps = 1e-6f;
  double rope_theta = 1e6;
  std::array<std::int64_t, 3> mrope_section{};
  bool tie_word_embeddings = false;
  std::int64_t max_position_embeddings = 0;
};

struct Config {
  VisionConfig vision;
  TextConfig text;
  std::int32_t image_token_id = 0;
  std::int32_t video_token_id = 0;
  std::int32_t vision_start_token_id = 0;
  std::int32_t vision_end_token_id = 0;
  std::vector<std::int32_t> eos_token_ids;  // default stop tokens
};

// file names config.json in errors.
Config parse_config(const runtime::Json& root, const std::string& file);

}  // namespace mmi::qwen2_5_vl
