#include "mmi/ops/rope.hpp"

#include <cmath>
#include <vector>

namespace mmi::ops {

std::vector<float> rope_inv_freq(std::int64_t dim, double theta) {
  std::vector<float> inv(static_cast<std::size_t>(dim / 2));
  const float base = static_cast<float>(theta);
  for (std::int64_t j = 0; j < dim / 2; ++j) {
    const float e = static_cast<float>(2 * j) / static_cast<float>(dim);
    const float p = static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(e)));
    inv[static_cast<std::size_t>(j)] = 1.0f / p;
  }
  return inv;
}

namespace {

void write_duplicated(const float* angles, std::int64_t half, float* cos, float* sin) {
  for (std::int64_t j = 0; j < half; ++j) {
    const float c = static_cast<float>(std::cos(static_cast<double>(angles[j])));
    const float s = static_cast<float>(std::sin(static_cast<double>(angles[j])));
    cos[j] = cos[j + half] = c;
    sin[j] = sin[j + half] = s;
  }
}

}  // namespace

void rope_2d_tables(const std::int64_t* hpos, const std::int64_t* wpos, std::int64_t n, std::int64_t head_dim,
                    double theta, float* cos, float* sin) {
  const std::vector<float> inv = rope_inv_freq(head_dim / 2, theta);
  const auto f = static_cast<std::int64_t>(inv.size());
  const std::int64_t half = head_dim / 2;
  std::vector<float> ang(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < f; ++j) {
      ang[static_cast<std::size_t>(j)] = static_cast<float>(hpos[i]) * inv[static_cast<std::size_t>(j)];
      ang[static_cast<std::size_t>(f + j)] = static_cast<float>(wpos[i]) * inv[static_cast<std::size_t>(j)];
    }
    write_duplicated(ang.data(), half, cos + i * head_dim, sin + i * head_dim);
  }
}

void mrope_tables(const std::int64_t* pos, std::int64_t stride, std::int64_t n, std::int64_t head_dim, double theta,
                  const std::array<std::int64_t, 3>& sections, float* cos, float* sin) {
  const std::vector<float> inv = rope_inv_freq(head_dim, theta);
  const std::int64_t half = head_dim / 2;
  std::vector<int> row_of(static_cast<std::size_t>(half));
  for (std::int64_t j = 0, r = 0, end = sections[0]; j < half; ++j) {
    while (j >= end && r < 2) end += sections[static_cast<std::size_t>(++r)];
    row_of[static_cast<std::size_t>(j)] = static_cast<int>(r);
  }
  std::vector<float> ang(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < half; ++j) {
      const std::int64_t p = pos[row_of[static_cast<std::size_t>(j)] * stride + i];
      ang[static_cast<std::size_t>(j)] = static_cast<float>(p) * inv[static_cast<std::size_t>(j)];
    }
    write_duplicated(ang.data(), half, cos + i * head_dim, sin + i * head_dim);
  }
}

void apply_rotary(float* x, std::int64_t n, std::int64_t heads, std::int64_t head_dim, std::int64_t row_stride,
                  const float* cos, const float* sin) {
  const std::int64_t half = head_dim / 2;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* c = cos + i * head_dim;
    const float* s = sin + i * head_dim;
    for (std::int64_t h = 0; h < heads; ++h) {
      float* v = x + i * row_stride + h * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const float a = v[j];
        const float b = v[j + half];
        v[j] = a * c[j] - b * s[j];
        v[j + half] = b * c[j + half] + a * s[j + half];
      }
    }
  }
}

}  // namespace mmi::ops
