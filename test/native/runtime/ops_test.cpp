// CPU ops against float64 references written out from their definitions.
#include <atomic>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "runtime_checks.hpp"
#include "mmi/ops/activation.hpp"
#include "mmi/ops/embedding.hpp"
#include "mmi/ops/half.hpp"
#include "mmi/ops/linear.hpp"
#include "mmi/ops/norm.hpp"
#include "mmi/ops/rope.hpp"
#include "mmi/ops/softmax.hpp"
#include "mmi/ops/thread_pool.hpp"

using namespace mmi::ops;

namespace {

std::vector<float> randn(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Random weights stored as `type`, plus their exact fp32 values.
struct Weights {
  std::vector<std::uint16_t> half;
  std::vector<float> f32;
  std::vector<float> values;
  MatrixView view;
};

Weights make_weights(ElemType type, std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  Weights w;
  const auto n = static_cast<std::size_t>(rows * cols);
  w.values = randn(n, rng, 0.5f);
  if (type == ElemType::F32) {
    w.f32 = w.values;
    w.view = {w.f32.data(), type, rows, cols};
    return w;
  }
  w.half.resize(n);
  std::uniform_int_distribution<int> exp(-8, 3);
  for (std::size_t i = 0; i < n; ++i) {
    if (type == ElemType::BF16) {
      w.half[i] = f32_to_bf16(w.values[i]);
      w.values[i] = bf16_to_f32(w.half[i]);
    } else {  // IEEE half: sign, a normal exponent, random mantissa
      const auto sign = static_cast<std::uint16_t>(w.values[i] < 0 ? 0x8000 : 0);
      const auto e = static_cast<std::uint16_t>((exp(rng) + 15) << 10);
      const auto m = static_cast<std::uint16_t>(rng() & 0x3FF);
      w.half[i] = static_cast<std::uint16_t>(sign | e | m);
      w.values[i] = f16_to_f32(w.half[i]);
    }
  }
  w.view = {w.half.data(), type, rows, cols};
  return w;
}

}  // namespace

TEST(half_conversions_hit_known_values) {
  CHECK(bf16_to_f32(0x3F80) == 1.0f);
  CHECK(bf16_to_f32(0xC000) == -2.0f);
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  CHECK(f32_to_bf16(1.00390625f) == 0x3F80);  // halfway: rounds to even
  CHECK(f32_to_bf16(1.01171875f) == 0x3F82);  // halfway: rounds to even (up)
  CHECK(f16_to_f32(0x3C00) == 1.0f);
  CHECK(f16_to_f32(0xC000) == -2.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(f16_to_f32(0xFBFF) == -65504.0f);
  CHECK(std::isinf(f16_to_f32(0x7C00)));
  CHECK(std::isnan(f16_to_f32(0x7E00)));
}

TEST(linear_matches_float64_gemm_for_all_types_shapes_strides_threads) {
  std::mt19937 rng(7);
  ThreadPool pool(3);
  struct Shape {
    std::int64_t m, k, n;
  };
  for (ElemType type : {ElemType::F32, ElemType::BF16, ElemType::F16}) {
    for (Shape s : {Shape{1, 5, 3}, Shape{2, 64, 70}, Shape{3, 300, 33}, Shape{7, 17, 16}, Shape{200, 257, 130},
                    Shape{5, 1176, 64}, Shape{193, 40, 129}}) {
      for (bool threaded : {false, true}) {
        for (bool accumulate : {false, true}) {
          const std::int64_t lda = s.k + 3, ldc = s.n + 5;
          auto a = randn(static_cast<std::size_t>(s.m * lda), rng);
          Weights w = make_weights(type, s.n, s.k, rng);
          auto bias = randn(static_cast<std::size_t>(s.n), rng);
          auto c = randn(static_cast<std::size_t>(s.m * ldc), rng);
          const auto c0 = c;
          linear(a.data(), lda, s.m, w.view, bias.data(), c.data(), ldc, accumulate, threaded ? &pool : nullptr);
          double worst = 0.0;
          for (std::int64_t i = 0; i < s.m; ++i) {
            for (std::int64_t j = 0; j < s.n; ++j) {
              double ref = bias[static_cast<std::size_t>(j)], mag = std::fabs(ref);
              for (std::int64_t kk = 0; kk < s.k; ++kk) {
                const double p = static_cast<double>(a[static_cast<std::size_t>(i * lda + kk)]) *
                                 w.values[static_cast<std::size_t>(j * s.k + kk)];
                ref += p;
                mag += std::fabs(p);
              }
              if (accumulate) ref += c0[static_cast<std::size_t>(i * ldc + j)];
              worst = std::max(worst, std::fabs(c[static_cast<std::size_t>(i * ldc + j)] - ref) / (mag + 1.0));
            }
            for (std::int64_t j = s.n; j < ldc; ++j) {  // padding untouched
              CHECK(c[static_cast<std::size_t>(i * ldc + j)] == c0[static_cast<std::size_t>(i * ldc + j)]);
            }
          }
          CHECK(worst < 1e-5) << std::to_string(worst);
        }
      }
    }
  }
}

TEST(elementwise_ops_match_their_definitions) {
  std::mt19937 rng(3);
  const std::int64_t rows = 5, dim = 37;
  auto x = randn(static_cast<std::size_t>(rows * dim), rng, 3.0f);
  auto w = randn(static_cast<std::size_t>(dim), rng);
  std::vector<float> out(x.size());
  rms_norm(x.data(), rows, dim, w.data(), 1e-6f, out.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (std::int64_t i = 0; i < dim; ++i) ss += std::pow(x[static_cast<std::size_t>(r * dim + i)], 2);
    const double inv = 1.0 / std::sqrt(ss / dim + 1e-6);
    for (std::int64_t i = 0; i < dim; ++i) {
      const auto k = static_cast<std::size_t>(r * dim + i);
      CHECK(std::fabs(out[k] - w[static_cast<std::size_t>(i)] * x[k] * inv) < 1e-5);
    }
  }

  auto g = randn(100, rng, 4.0f), u = randn(100, rng);
  std::vector<float> s(100);
  silu_mul(g.data(), u.data(), s.data(), 100);
  for (std::size_t i = 0; i < 100; ++i) CHECK(std::fabs(s[i] - g[i] / (1.0 + std::exp(-double(g[i]))) * u[i]) < 1e-5);

  auto e = randn(100, rng, 4.0f);
  auto e0 = e;
  gelu_erf(e.data(), 100);
  for (std::size_t i = 0; i < 100; ++i) {
    CHECK(std::fabs(e[i] - 0.5 * e0[i] * (1.0 + std::erf(e0[i] / std::sqrt(2.0)))) < 1e-6);
  }

  auto sm = randn(3 * 50, rng, 10.0f);
  sm[7] = 1000.0f;  // large values must not overflow
  auto sm0 = sm;
  softmax_rows(sm.data(), 3, 50);
  for (int r = 0; r < 3; ++r) {
    double mx = -1e300, z = 0;
    for (int i = 0; i < 50; ++i) mx = std::max(mx, double(sm0[static_cast<std::size_t>(r * 50 + i)]));
    for (int i = 0; i < 50; ++i) z += std::exp(sm0[static_cast<std::size_t>(r * 50 + i)] - mx);
    for (int i = 0; i < 50; ++i) {
      CHECK(std::fabs(sm[static_cast<std::size_t>(r * 50 + i)] - std::exp(sm0[static_cast<std::size_t>(r * 50 + i)] - mx) / z) < 1e-6);
    }
  }

  Weights table = make_weights(ElemType::BF16, 10, 6, rng);
  const std::int32_t ids[3] = {9, 0, 9};
  std::vector<float> emb(18);
  embedding(table.view, ids, 3, emb.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 6; ++j) CHECK(emb[static_cast<std::size_t>(i * 6 + j)] == table.values[static_cast<std::size_t>(ids[i] * 6 + j)]);
}

TEST(m_rope_and_2d_rotary_tables_follow_their_section_layouts) {
  const std::int64_t hd = 16, n = 4;
  const std::array<std::int64_t, 3> sections{2, 3, 3};
  const std::int64_t pos[3 * n] = {0, 5, 9, 1000, 0, 1, 2, 3, 7, 6, 5, 4};  // rows t, h, w
  std::vector<float> cos(n * hd), sin(n * hd);
  mrope_tables(pos, n, n, hd, 1e6, sections, cos.data(), sin.data());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < hd / 2; ++j) {
      const std::int64_t row = j < 2 ? 0 : (j < 5 ? 1 : 2);
      const double angle = double(pos[row * n + i]) * std::pow(1e6, -2.0 * double(j) / double(hd));
      for (std::int64_t half : {std::int64_t{0}, hd / 2}) {
        CHECK(std::fabs(cos[static_cast<std::size_t>(i * hd + j + half)] - std::cos(angle)) < 2e-4);
        CHECK(std::fabs(sin[static_cast<std::size_t>(i * hd + j + half)] - std::sin(angle)) < 2e-4);
      }
    }
  }

  const std::int64_t hp[2] = {3, 0}, wp[2] = {1, 8};
  std::vector<float> c2(2 * hd), s2(2 * hd);
  rope_2d_tables(hp, wp, 2, hd, 10000.0, c2.data(), s2.data());
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t f = 0; f < hd / 4; ++f) {
      const double inv = std::pow(10000.0, -2.0 * double(f) / double(hd / 2));
      const double ah = double(hp[i]) * inv, aw = double(wp[i]) * inv;
      for (std::int64_t half : {std::int64_t{0}, hd / 2}) {
        CHECK(std::fabs(c2[static_cast<std::size_t>(i * hd + half + f)] - std::cos(ah)) < 1e-5);
        CHECK(std::fabs(c2[static_cast<std::size_t>(i * hd + half + hd / 4 + f)] - std::cos(aw)) < 1e-5);
        CHECK(std::fabs(s2[static_cast<std::size_t>(i * hd + half + hd / 4 + f)] - std::sin(aw)) < 1e-5);
      }
    }
  }
}

TEST(apply_rotary_rotates_each_head_by_rotate_half) {
  std::mt19937 rng(11);
  const std::int64_t n = 3, heads = 2, hd = 8, stride = heads * hd + 4;
  auto x = randn(static_cast<std::size_t>(n * stride), rng);
  auto cos = randn(static_cast<std::size_t>(n * hd), rng), sin = randn(static_cast<std::size_t>(n * hd), rng);
  const auto x0 = x;
  apply_rotary(x.data(), n, heads, hd, stride, cos.data(), sin.data());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t d = 0; d < hd; ++d) {
        const auto at = [&](std::int64_t dd) { return double(x0[static_cast<std::size_t>(i * stride + h * hd + dd)]); };
        const double rot = d < hd / 2 ? -at(d + hd / 2) : at(d - hd / 2);
        const double ref = at(d) * cos[static_cast<std::size_t>(i * hd + d)] + rot * sin[static_cast<std::size_t>(i * hd + d)];
        CHECK(std::fabs(x[static_cast<std::size_t>(i * stride + h * hd + d)] - ref) < 1e-5);
      }
    }
    for (std::int64_t d = heads * hd; d < stride; ++d) CHECK(x[static_cast<std::size_t>(i * stride + d)] == x0[static_cast<std::size_t>(i * stride + d)]);
  }
}

TEST(thread_pool_runs_each_index_once_and_propagates_errors) {
  ThreadPool pool(4);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(1000, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)]++; });
    for (auto& h : hits) CHECK(h.load() == 1);
  }
  bool threw = false;
  try {
    pool.parallel_for(100, [](std::int64_t i) {
      if (i == 42) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CHECK(threw);
  std::atomic<int> total{0};
  pool.parallel_for(8, [&](std::int64_t) { pool.parallel_for(10, [&](std::int64_t) { total++; }); });
  CHECK(total.load() == 80);
}

