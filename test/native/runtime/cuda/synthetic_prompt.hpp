// Synthetic video prompts and random-weight model folders for the GPU tests and the scale benchmark: a chat-shaped
// token sequence around the <|video_pad|> tokens of one video or of several interleaved with text, with the
// Qwen2.5-VL M-RoPE positions (a video token at merged cell (t, y, x) after text offset s gets
// (s + floor(t · second_per_grid · tokens_per_second), s + y, s + x); text after a video continues from the largest
// position + 1 — models/qwen2_5_vl/README.md "Position rule").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/preprocess.hpp"

namespace synthetic {

struct Prompt {
  std::vector<std::int32_t> ids;
  std::vector<std::int64_t> positions;  // 3 rows of ids.size()
  mmi::qwen2_5_vl::GridTHW grid;        // in patches
};

// Text and videos interleaved: texts[0] text tokens, then for each video i <|vision_start|>, its tokens,
// <|vision_end|> and texts[i + 1] text tokens (texts has one entry more than grids). Text ids are drawn from
// [0, vocab) avoiding the special ids. `grid` of the result is the first video's.
inline Prompt interleaved_prompt(const mmi::qwen2_5_vl::Config& c, const std::vector<mmi::qwen2_5_vl::GridTHW>& grids,
                                 const std::vector<std::int64_t>& texts, double second_per_grid, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::int32_t vocab = static_cast<std::int32_t>(std::min<std::int64_t>(c.text.vocab, 1 << 20));
  auto text_id = [&] {
    for (;;) {
      const auto id = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
      if (id != c.video_token_id && id != c.image_token_id && id != c.vision_start_token_id &&
          id != c.vision_end_token_id) {
        return id;
      }
    }
  };
  const std::int64_t m = c.vision.merge;
  Prompt p;
  p.grid = grids.front();
  std::vector<std::int64_t> t_row, h_row, w_row;
  std::int64_t next = 0;
  auto text = [&](std::int32_t id) {
    p.ids.push_back(id);
    t_row.push_back(next);
    h_row.push_back(next);
    w_row.push_back(next);
    ++next;
  };
  for (std::int64_t i = 0; i < texts.front(); ++i) text(text_id());
  for (std::size_t v = 0; v < grids.size(); ++v) {
    const mmi::qwen2_5_vl::GridTHW& grid = grids[v];
    const std::int64_t T = grid.t, H = grid.h / m, W = grid.w / m;
    text(c.vision_start_token_id);
    const std::int64_t s = next;
    std::int64_t largest = s - 1;
    for (std::int64_t t = 0; t < T; ++t) {
      const auto tpos = s + static_cast<std::int64_t>(std::floor(static_cast<double>(t) * second_per_grid *
                                                                 static_cast<double>(c.vision.tokens_per_second)));
      for (std::int64_t y = 0; y < H; ++y) {
        for (std::int64_t x = 0; x < W; ++x) {
          p.ids.push_back(c.video_token_id);
          t_row.push_back(tpos);
          h_row.push_back(s + y);
          w_row.push_back(s + x);
          largest = std::max({largest, tpos, s + y, s + x});
        }
      }
    }
    next = largest + 1;
    text(c.vision_end_token_id);
    for (std::int64_t i = 0; i < texts[v + 1]; ++i) text(text_id());
  }
  p.positions = t_row;
  p.positions.insert(p.positions.end(), h_row.begin(), h_row.end());
  p.positions.insert(p.positions.end(), w_row.begin(), w_row.end());
  return p;
}

// prefix text tokens, <|vision_start|>, the video's tokens, <|vision_end|>, suffix text tokens.
inline Prompt video_prompt(const mmi::qwen2_5_vl::Config& c, mmi::qwen2_5_vl::GridTHW grid, std::int64_t prefix,
                           std::int64_t suffix, double second_per_grid, std::uint64_t seed) {
  return interleaved_prompt(c, {grid}, {prefix, suffix}, second_per_grid, seed);
}

// Deterministic pseudo-random pixel values in [-2, 2] (about the normalised range) for temporal patches
// [t0, t0 + count): fast enough to stream hours of synthetic video.
inline void fill_pixels(std::uint64_t seed, std::int64_t t0, std::int64_t count, std::int64_t patches_per_t,
                        std::int64_t patch_dim, float* out) {
  const std::int64_t per_t = patches_per_t * patch_dim;
  for (std::int64_t t = 0; t < count; ++t) {
    std::uint64_t x = (seed + static_cast<std::uint64_t>(t0 + t)) * 0x9E3779B97F4A7C15ull | 1;
    float* o = out + t * per_t;
    for (std::int64_t i = 0; i < per_t; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      o[i] = static_cast<float>(static_cast<std::int32_t>(x >> 32)) * (2.0f / 2147483648.0f);
    }
  }
}

}  // namespace synthetic
