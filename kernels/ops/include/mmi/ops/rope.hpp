// Rotary position embeddings of Qwen2-VL / Qwen2.5-VL: the vision tower's 2D (h, w) rotary and the language
// model's multimodal M-RoPE (t, h, w sections). Tables are computed the way transformers computes them (fp32
// inverse frequencies and angles) and applied as x·cos + rotate_half(x)·sin.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace mmi::ops {

// inv_freq[j] = 1 / theta^(2j / dim), j < dim / 2.
std::vector<float> rope_inv_freq(std::int64_t dim, double theta);

// Vision rotary for tokens at patch rows hpos[i] and columns wpos[i]: head_dim / 4 frequencies, angles
// [h·f, w·f] duplicated to head_dim. cos, sin: [n, head_dim].
void rope_2d_tables(const std::int64_t* hpos, const std::int64_t* wpos, std::int64_t n, std::int64_t head_dim,
                    double theta, float* cos, float* sin);

// M-RoPE for positions pos[r * stride + i] (r = t, h, w): frequency j < head_dim / 2 takes the position row of
// the section it falls in (sections sum to head_dim / 2); angles duplicated to head_dim. cos, sin: [n, head_dim].
void mrope_tables(const std::int64_t* pos, std::int64_t stride, std::int64_t n, std::int64_t head_dim, double theta,
                  const std::array<std::int64_t, 3>& sections, float* cos, float* sin);

// For each token i < n and head h < heads: v = x[i*row_stride + h*head_dim ..] of head_dim elements,
// v = v·cos[i] + rotate_half(v)·sin[i] with rotate_half(v) = (-v[d/2:], v[:d/2]).
void apply_rotary(float* x, std::int64_t n, std::int64_t heads, std::int64_t head_dim, std::int64_t row_stride,
                  const float* cos, const float* sin);

}  // namespace mmi::ops
