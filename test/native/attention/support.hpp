// Shared helpers of the attention tests: random operands in every dtype, error measures, planted-mass recall.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/tensor.hpp"

namespace support {

using namespace mmi::attention;
using mmi::SparseIndex;

// Round-to-nearest-even fp32 -> bf16 bits (finite inputs), written independently of the code under test.
inline uint16_t to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
inline uint16_t to_f16(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

// One operand [heads, n, dim] in a dtype, with its fp32 values.
struct Operand {
  DType dtype = DType::f32;
  int64_t heads = 0, n = 0, dim = 0;
  std::vector<float> f32;
  std::vector<uint16_t> half;

  HeadsView view() const {
    return HeadsView{dtype == DType::f32 ? static_cast<const void*>(f32.data()) : static_cast<const void*>(half.data()),
                     dtype, heads, n, dim, 0, 0};
  }
};

inline Operand random_operand(DType dtype, int64_t heads, int64_t n, int64_t dim, std::mt19937_64& rng,
                              float stddev = 1.0f) {
  std::normal_distribution<float> normal(0.0f, stddev);
  Operand op{dtype, heads, n, dim, {}, {}};
  op.f32.resize(static_cast<size_t>(heads * n * dim));
  for (float& x : op.f32) x = normal(rng);
  if (dtype != DType::f32) {
    op.half.resize(op.f32.size());
    for (size_t i = 0; i < op.f32.size(); ++i) op.half[i] = dtype == DType::bf16 ? to_bf16(op.f32[i]) : to_f16(op.f32[i]);
  }
  return op;
}

inline Operand wrap_f32(const std::vector<float>& data, int64_t heads, int64_t n, int64_t dim) {
  return Operand{DType::f32, heads, n, dim, data, {}};
}

// max |o - ref| / max |ref| over the whole output: the "relative error" of every accuracy test.
inline double relative_error(std::span<const float> o, std::span<const double> ref) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(o[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0.0 ? diff / scale : diff;
}

inline OutputView output(std::vector<float>& o, int64_t heads, int64_t n, int64_t dim) {
  o.assign(static_cast<size_t>(heads * n * dim), std::nanf(""));
  return OutputView{o.data(), heads, n, dim, 0, 0};
}

// Share of the planted attention mass (cells planted[r*n+k]) that the mask keeps, over all rows of a head.
inline double planted_recall(const HeadsView& q, const HeadsView& k, int64_t head, const SparseIndex& index,
                             const std::vector<uint8_t>& planted) {
  const int64_t n = q.n;
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) rows[static_cast<size_t>(r)] = r;
  const std::vector<double> w = attention_rows(q, k, head, rows, 0.0f);
  const std::vector<uint8_t> mask = render_mask(index, true);
  double total = 0.0, kept = 0.0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!planted[i]) continue;
    total += w[i];
    if (mask[i]) kept += w[i];
  }
  return total > 0.0 ? kept / total : 1.0;
}

}  // namespace support
