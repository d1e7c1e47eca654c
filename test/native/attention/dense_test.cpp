// Dense attention: the blocked fp32 kernel against the float64 formula, in every dtype, head dim, GQA ratio and
// odd size; variable-length segments with and without the causal mask; strided views; hostile arguments.
#include <atomic>
#include <limits>

#include "check.hpp"
#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "support.hpp"

using namespace mmi::attention;
using support::random_operand;

namespace {

double dense_error(DType dtype, int64_t hq, int64_t hkv, int64_t n, int64_t dim, const DenseOptions& options,
                   uint64_t seed, int threads = 2) {
  std::mt19937_64 rng(seed);
  const auto q = random_operand(dtype, hq, n, dim, rng), k = random_operand(dtype, hkv, n, dim, rng),
             v = random_operand(dtype, hkv, n, dim, rng);
  std::vector<float> o;
  RunControl control;
  control.threads = threads;
  dense_attention(q.view(), k.view(), v.view(), support::output(o, hq, n, dim), options, control);
  return support::relative_error(o, dense_reference_f64(q.view(), k.view(), v.view(), options));
}

}  // namespace

TEST(dense_matches_f64_in_every_dtype_and_head_dim) {
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (int64_t dim : {64, 80, 128}) {
      const double err = dense_error(dtype, 2, 1, 150, dim, {}, 7);
      CHECK(err < 1e-5) << dtype_name(dtype) << " dim " << dim << ": relative error " << err;
    }
  }
}

TEST(dense_odd_sizes_and_gqa_ratios) {
  for (int64_t n : {1, 2, 63, 64, 65, 100, 129}) {
    for (int64_t ratio : {1, 4, 7, 8}) {
      const double err = dense_error(DType::f32, ratio, 1, n, 64, {}, static_cast<uint64_t>(n * 10 + ratio));
      CHECK(err < 1e-5) << "n " << n << " ratio " << ratio << ": relative error " << err;
    }
  }
  const double err = dense_error(DType::bf16, 8, 2, 77, 80, {}, 3);
  CHECK(err < 1e-5) << "8 q heads over 2 kv heads: " << err;
}

TEST(dense_single_thread_equals_threads) {
  std::mt19937_64 rng(11);
  const auto q = random_operand(DType::f32, 4, 200, 64, rng), k = random_operand(DType::f32, 2, 200, 64, rng),
             v = random_operand(DType::f32, 2, 200, 64, rng);
  std::vector<float> a, b;
  RunControl one, many;
  one.threads = 1;
  many.threads = 3;
  dense_attention(q.view(), k.view(), v.view(), support::output(a, 4, 200, 64), {}, one);
  dense_attention(q.view(), k.view(), v.view(), support::output(b, 4, 200, 64), {}, many);
  CHECK(a == b) << "the result depends on the thread count";
}

TEST(dense_variable_length_segments) {
  const std::vector<int64_t> cu = {0, 5, 64, 70, 200, 201, 260};
  for (bool causal : {false, true}) {
    DenseOptions options;
    options.causal = causal;
    options.segments = cu;
    for (int64_t dim : {80, 128}) {
      const double err = dense_error(DType::f32, 4, 4, 260, dim, options, 5);
      CHECK(err < 1e-5) << "causal " << causal << " dim " << dim << ": " << err;
    }
  }
  // Block-diagonal: a row's output depends only on its own segment. Change one segment's keys and values; the
  // other segments' outputs stay bit-identical.
  std::mt19937_64 rng(9);
  auto q = random_operand(DType::f32, 1, 100, 80, rng), k = random_operand(DType::f32, 1, 100, 80, rng),
       v = random_operand(DType::f32, 1, 100, 80, rng);
  const std::vector<int64_t> two = {0, 40, 100};
  DenseOptions options;
  options.causal = false;
  options.segments = two;
  std::vector<float> before, after;
  dense_attention(q.view(), k.view(), v.view(), support::output(before, 1, 100, 80), options);
  for (int64_t i = 40 * 80; i < 100 * 80; ++i) k.f32[static_cast<size_t>(i)] += 1.0f, v.f32[static_cast<size_t>(i)] -= 2.0f;
  dense_attention(q.view(), k.view(), v.view(), support::output(after, 1, 100, 80), options);
  CHECK(std::equal(before.begin(), before.begin() + 40 * 80, after.begin())) << "segment 0 saw segment 1";
  CHECK(!std::equal(before.begin() + 40 * 80, before.end(), after.begin() + 40 * 80)) << "segment 1 did not change";
}

TEST(dense_chunk_of_queries_against_a_longer_cache) {
  // Rows [offset, offset + m) of a 200-token sequence, causal and in segments, against the float64 formula and
  // against the same rows of the full computation.
  std::mt19937_64 rng(31);
  const int64_t n = 200, dim = 64;
  const auto k = random_operand(DType::bf16, 2, n, dim, rng), v = random_operand(DType::bf16, 2, n, dim, rng);
  const auto full_q = random_operand(DType::f32, 4, n, dim, rng);
  const std::vector<int64_t> cu = {0, 90, 200};
  for (bool causal : {true, false}) {
    for (int64_t offset : {0, 37, 130, 199}) {
      const int64_t m = std::min<int64_t>(70, n - offset);
      support::Operand q{DType::f32, 4, m, dim, {}, {}};
      for (int64_t h = 0; h < 4; ++h) {
        const auto* src = full_q.f32.data() + (h * n + offset) * dim;
        q.f32.insert(q.f32.end(), src, src + m * dim);
      }
      DenseOptions options;
      options.causal = causal;
      options.segments = cu;
      options.query_offset = offset;
      std::vector<float> o, full;
      dense_attention(q.view(), k.view(), v.view(), support::output(o, 4, m, dim), options);
      const double err = support::relative_error(o, dense_reference_f64(q.view(), k.view(), v.view(), options));
      CHECK(err < 1e-5) << "offset " << offset << " causal " << causal << ": " << err;
      DenseOptions whole = options;
      whole.query_offset = 0;
      dense_attention(full_q.view(), k.view(), v.view(), support::output(full, 4, n, dim), whole);
      double diff = 0.0;
      for (int64_t h = 0; h < 4; ++h) {
        for (int64_t i = 0; i < m * dim; ++i) {
          diff = std::max<double>(diff, std::abs(o[static_cast<size_t>(h * m * dim + i)] -
                                                 full[static_cast<size_t>((h * n + offset) * dim + i)]));
        }
      }
      CHECK(diff < 1e-6) << "chunk at " << offset << " differs from the full result by " << diff;
    }
  }
  DenseOptions bad;
  bad.query_offset = 150;
  std::vector<float> o;
  CHECK_THROWS_CODE(dense_attention(full_q.view(), k.view(), v.view(), support::output(o, 4, n, dim), bad),
                    ErrorCode::InvalidArgument);
  bad.query_offset = -1;
  CHECK_THROWS_CODE(dense_attention(full_q.view(), k.view(), v.view(), support::output(o, 4, n, dim), bad),
                    ErrorCode::InvalidArgument);
}

TEST(dense_reads_strided_views_in_place) {
  // A fused qkv buffer [n, 3, H, D] as the vision tower holds it; output into [n, H, D].
  const int64_t n = 90, heads = 3, dim = 80;
  std::mt19937_64 rng(21);
  std::normal_distribution<float> normal;
  std::vector<float> qkv(static_cast<size_t>(n * 3 * heads * dim));
  for (float& x : qkv) x = normal(rng);
  const int64_t row = 3 * heads * dim;
  const HeadsView q{qkv.data(), DType::f32, heads, n, dim, dim, row};
  const HeadsView k{qkv.data() + heads * dim, DType::f32, heads, n, dim, dim, row};
  const HeadsView v{qkv.data() + 2 * heads * dim, DType::f32, heads, n, dim, dim, row};
  std::vector<float> o(static_cast<size_t>(n * heads * dim));
  const OutputView out{o.data(), heads, n, dim, dim, heads * dim};
  const std::vector<int64_t> cu = {0, 45, 90};
  DenseOptions options;
  options.causal = false;
  options.segments = cu;
  dense_attention(q, k, v, out, options);
  const std::vector<double> ref = dense_reference_f64(q, k, v, options);  // [H, n, D]
  std::vector<float> reordered(o.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t d = 0; d < dim; ++d) reordered[static_cast<size_t>((h * n + r) * dim + d)] = out.row(h, r)[d];
    }
  }
  const double err = support::relative_error(reordered, ref);
  CHECK(err < 1e-5) << "strided: " << err;
}

TEST(dense_rejects_hostile_arguments) {
  std::mt19937_64 rng(1);
  auto q = random_operand(DType::f32, 4, 32, 64, rng), k = random_operand(DType::f32, 2, 32, 64, rng),
       v = random_operand(DType::f32, 2, 32, 64, rng);
  std::vector<float> o(4 * 32 * 64);
  const OutputView out{o.data(), 4, 32, 64, 0, 0};
  auto run = [&](HeadsView qv, HeadsView kv, HeadsView vv, OutputView ov, DenseOptions options = {}) {
    dense_attention(qv, kv, vv, ov, options);
  };
  HeadsView bad = q.view();
  bad.n = 0;
  CHECK_THROWS_CODE(run(bad, k.view(), v.view(), out), ErrorCode::InvalidArgument);
  bad = k.view();
  bad.n = 31;
  CHECK_THROWS_CODE(run(q.view(), bad, v.view(), out), ErrorCode::InvalidArgument);
  bad = q.view();
  bad.heads = 3;  // not a multiple of 2 kv heads
  CHECK_THROWS_CODE(run(bad, k.view(), v.view(), OutputView{o.data(), 3, 32, 64, 0, 0}), ErrorCode::InvalidArgument);
  bad = v.view();
  bad.dim = 32;
  CHECK_THROWS_CODE(run(q.view(), k.view(), bad, out), ErrorCode::InvalidArgument);
  bad = q.view();
  bad.data = nullptr;
  CHECK_THROWS_CODE(run(bad, k.view(), v.view(), out), ErrorCode::InvalidArgument);
  bad = q.view();
  bad.dim = 512;
  CHECK_THROWS_CODE(run(bad, k.view(), v.view(), out), ErrorCode::InvalidArgument);
  bad = q.view();
  bad.dtype = static_cast<DType>(9);
  CHECK_THROWS_CODE(run(bad, k.view(), v.view(), out), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), OutputView{o.data(), 4, 32, 32, 0, 0}), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), OutputView{nullptr, 4, 32, 64, 0, 0}), ErrorCode::InvalidArgument);
  DenseOptions options;
  options.scale = -1.0f;
  CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), out, options), ErrorCode::InvalidArgument);
  options.scale = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), out, options), ErrorCode::InvalidArgument);
  for (const std::vector<int64_t>& cu : {std::vector<int64_t>{0, 10}, {1, 32}, {0, 20, 20, 32}, {0, 40, 32}, {0}}) {
    DenseOptions seg;
    seg.segments = cu;
    CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), out, seg), ErrorCode::InvalidArgument);
  }
  for (float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    for (auto* t : {&q, &k, &v}) {
      const float keep = t->f32[100];
      t->f32[100] = poison;
      CHECK_THROWS_CODE(run(q.view(), k.view(), v.view(), out), ErrorCode::NonFinite);
      t->f32[100] = keep;
    }
  }
}

TEST(dense_cancel_and_progress) {
  std::mt19937_64 rng(2);
  const auto q = random_operand(DType::f32, 2, 300, 64, rng), k = random_operand(DType::f32, 2, 300, 64, rng),
             v = random_operand(DType::f32, 2, 300, 64, rng);
  std::vector<float> o;
  std::atomic<bool> cancel{true};
  RunControl control;
  control.cancel = &cancel;
  CHECK_THROWS_CODE(dense_attention(q.view(), k.view(), v.view(), support::output(o, 2, 300, 64), {}, control),
                    ErrorCode::Cancelled);
  cancel = false;
  std::vector<std::pair<int64_t, int64_t>> reports;
  control.threads = 2;
  control.progress = [&](int64_t done, int64_t total) { reports.emplace_back(done, total); };
  dense_attention(q.view(), k.view(), v.view(), support::output(o, 2, 300, 64), {}, control);
  CHECK(!reports.empty() && reports.back().first == reports.back().second && reports.back().second == 2 * 5)
      << "last progress report must be total (2 heads × 5 blocks)";
  for (size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].first > reports[i - 1].first) << "progress went back";
  // A progress callback that throws stops the work and its exception comes out.
  control.threads = 2;
  control.progress = [](int64_t, int64_t) { throw std::runtime_error("consumer gone"); };
  bool rethrown = false;
  try {
    dense_attention(q.view(), k.view(), v.view(), support::output(o, 2, 300, 64), {}, control);
  } catch (const std::runtime_error& e) {
    rethrown = std::string(e.what()) == "consumer gone";
  }
  CHECK(rethrown) << "the progress callback's exception was lost";
  // Cancel from inside the work: the call stops and throws.
  std::atomic<int> units{0};
  cancel = false;
  control.threads = 1;
  control.progress = [&](int64_t done, int64_t) {
    if (++units == 2) cancel = true;
    (void)done;
  };
  CHECK_THROWS_CODE(dense_attention(q.view(), k.view(), v.view(), support::output(o, 2, 300, 64), {}, control),
                    ErrorCode::Cancelled);
}
