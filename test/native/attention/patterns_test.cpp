// Every pattern: its estimated index is valid, the sparse kernel computes exactly the softmax over the index's
// mask (against float64 restricted to the mask), at full budget the mask is the causal mask and the output is
// dense attention; odd sizes and GQA ratios; hostile configurations.
#include <limits>

#include "check.hpp"
#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/attention/synthetic.hpp"
#include "support.hpp"

using namespace mmi::attention;
using mmi::kBlock;
using mmi::num_blocks;
using mmi::SparseIndex;

namespace {

const Pattern kPatterns[] = {Pattern::dense,  Pattern::a_shape,    Pattern::vertical_slash, Pattern::block_sparse,
                             Pattern::grid,   Pattern::q_boundary, Pattern::two_d_boundary};

// Budgets small enough that every pattern is sparse at a few hundred tokens.
PatternConfig small(Pattern p) {
  PatternConfig c;
  c.pattern = p;
  c.sink_tokens = 16;
  c.local_tokens = 48;
  c.vertical_slash = {40, 110};
  c.top_k_blocks = 2;
  c.grid_lines = 2;
  c.text_rows = c.video_rows = {40, 110};
  c.text_to_text = c.text_to_video = c.video_to_text = c.video_to_video = {35, 105};
  return c;
}

PatternConfig full(Pattern p, int64_t n) {
  PatternConfig c;
  c.pattern = p;
  c.sink_tokens = n;
  c.local_tokens = n;
  const VerticalSlashBudget all{n, 2 * n};
  c.vertical_slash = c.text_rows = c.video_rows = all;
  c.text_to_text = c.text_to_video = c.video_to_text = c.video_to_video = all;
  c.top_k_blocks = num_blocks(n);
  return c;
}

ModalityLayout layout(std::vector<Segment> segments) { return ModalityLayout::make(segments); }

std::vector<ModalityLayout> layouts() {
  return {
      layout({Segment::text(40), Segment::video(4, 6, 8), Segment::text(30)}),
      layout({Segment::video(3, 5, 7)}),
      ModalityLayout::text_only(130),
      layout({Segment::text(20), Segment::video(2, 4, 4), Segment::text(10), Segment::video(3, 3, 5), Segment::text(25)}),
  };
}

std::vector<SparseIndex> indices_of(const std::vector<HeadEstimate>& est) {
  std::vector<SparseIndex> out;
  for (const auto& e : est) out.push_back(e.index);
  return out;
}

// Sparse kernel vs float64 over the same mask; returns the relative error.
double sparse_error(const HeadsView& q, const HeadsView& k, const HeadsView& v, const std::vector<SparseIndex>& idx) {
  std::vector<float> o;
  RunControl control;
  control.threads = 2;
  sparse_attention(q, k, v, idx, support::output(o, q.heads, q.n, q.dim), {}, control);
  return support::relative_error(o, masked_reference_f64(q, k, v, idx));
}

}  // namespace

TEST(patterns_match_f64_over_their_mask) {
  for (const ModalityLayout& lay : layouts()) {
    for (int64_t dim : {64, 80, 128}) {
      const QKV in = synthetic_qkv({lay, 4, 1, dim, static_cast<uint64_t>(dim + lay.n()), 4});
      for (Pattern p : kPatterns) {
        const PatternConfig config = small(p);
        const auto est = estimate_heads(in.qv(), in.kv(), lay, std::span(&config, 1));
        const auto idx = indices_of(est);
        for (const auto& i : idx) {
          CHECK(index_problem(i, lay.n()).empty()) << pattern_name(p) << ": " << index_problem(i, lay.n());
        }
        const double err = sparse_error(in.qv(), in.kv(), in.vv(), idx);
        CHECK(err < 1e-5) << pattern_name(p) << " n " << lay.n() << " dim " << dim << ": relative error " << err;
      }
    }
  }
}

TEST(patterns_are_sparse_at_a_thousand_tokens) {
  // Block granularity makes every pattern nearly dense at a few hundred tokens; at ~1K they must not be.
  const ModalityLayout lay = layout({Segment::text(64), Segment::video(6, 8, 16), Segment::text(100)});
  const QKV in = synthetic_qkv({lay, 4, 1, 64, 5, 4});
  for (Pattern p : kPatterns) {
    PatternConfig config = small(p);
    config.vertical_slash = config.text_rows = config.video_rows = {40, 104};
    const auto idx = indices_of(estimate_heads(in.qv(), in.kv(), lay, std::span(&config, 1)));
    double dens = 0.0;
    for (const auto& i : idx) dens += density(i).value() / static_cast<double>(idx.size());
    if (p == Pattern::dense) {
      CHECK(dens == 1.0);
    } else {
      CHECK(dens < 0.75) << pattern_name(p) << " is not sparse: density " << dens;
    }
    const double err = sparse_error(in.qv(), in.kv(), in.vv(), idx);
    CHECK(err < 1e-5) << pattern_name(p) << ": relative error " << err;
  }
}

TEST(patterns_in_half_precision_inputs) {
  const ModalityLayout lay = layouts()[3];
  const QKV in = synthetic_qkv({lay, 8, 2, 64, 3, 4});
  for (DType dtype : {DType::f16, DType::bf16}) {
    std::vector<uint16_t> qh(in.q.size()), kh(in.k.size()), vh(in.v.size());
    auto conv = [&](const std::vector<float>& src, std::vector<uint16_t>& dst) {
      for (size_t i = 0; i < src.size(); ++i) dst[i] = dtype == DType::bf16 ? support::to_bf16(src[i]) : support::to_f16(src[i]);
    };
    conv(in.q, qh);
    conv(in.k, kh);
    conv(in.v, vh);
    const HeadsView qv{qh.data(), dtype, 8, lay.n(), 64, 0, 0}, kv{kh.data(), dtype, 2, lay.n(), 64, 0, 0},
        vv{vh.data(), dtype, 2, lay.n(), 64, 0, 0};
    for (Pattern p : kPatterns) {
      const PatternConfig config = small(p);
      const auto idx = indices_of(estimate_heads(qv, kv, lay, std::span(&config, 1)));
      const double err = sparse_error(qv, kv, vv, idx);
      CHECK(err < 1e-5) << pattern_name(p) << " " << dtype_name(dtype) << ": " << err;
    }
  }
}

TEST(patterns_at_full_budget_are_dense) {
  for (const ModalityLayout& lay : layouts()) {
    const int64_t n = lay.n();
    const QKV in = synthetic_qkv({lay, 4, 2, 64, 17, 4});
    const std::vector<double> dense = dense_reference_f64(in.qv(), in.kv(), in.vv());
    for (Pattern p : kPatterns) {
      const PatternConfig config = full(p, n);
      const auto idx = indices_of(estimate_heads(in.qv(), in.kv(), lay, std::span(&config, 1)));
      for (const auto& i : idx) {
        const auto mask = render_mask(i, true);
        bool causal = true;
        for (int64_t r = 0; r < n && causal; ++r) {
          for (int64_t c = 0; c < n; ++c) causal = causal && mask[static_cast<size_t>(r * n + c)] == (c <= r);
        }
        CHECK(causal) << pattern_name(p) << " at full budget is not the causal mask (n " << n << ")";
        CHECK(density(i).value() == 1.0) << pattern_name(p) << " density " << density(i).value();
      }
      std::vector<float> o;
      sparse_attention(in.qv(), in.kv(), in.vv(), idx, support::output(o, 4, n, 64));
      const double err = support::relative_error(o, dense);
      CHECK(err < 1e-5) << pattern_name(p) << " at full budget vs dense f64: " << err;
    }
  }
}

TEST(patterns_odd_sizes_and_gqa_ratios) {
  std::mt19937_64 rng(8);
  for (int64_t n : {1, 2, 37, 63, 65, 130}) {
    for (int64_t ratio : {1, 4, 7, 8}) {
      const auto q = support::random_operand(DType::f32, ratio, n, 64, rng, 2.0f);
      const auto k = support::random_operand(DType::f32, 1, n, 64, rng, 2.0f);
      const auto v = support::random_operand(DType::f32, 1, n, 64, rng);
      const ModalityLayout lay = n >= 20 ? layout({Segment::text(n - 16), Segment::video(1, 4, 4)})
                                         : ModalityLayout::text_only(n);
      for (Pattern p : kPatterns) {
        const PatternConfig config = small(p);
        const auto idx = indices_of(estimate_heads(q.view(), k.view(), lay, std::span(&config, 1)));
        const double err = sparse_error(q.view(), k.view(), v.view(), idx);
        CHECK(err < 1e-5) << pattern_name(p) << " n " << n << " ratio " << ratio << ": " << err;
      }
    }
  }
}

TEST(sparse_kernel_on_random_permuted_indices) {
  // Arbitrary valid indices with random permutations, including query blocks with no keys at all.
  std::mt19937_64 rng(12);
  const int64_t n = 200, nb = num_blocks(n);
  const auto q = support::random_operand(DType::f32, 2, n, 80, rng), k = support::random_operand(DType::f32, 1, n, 80, rng),
             v = support::random_operand(DType::f32, 1, n, 80, rng);
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<SparseIndex> idx(2);
    for (auto& i : idx) {
      i.n = n;
      i.block_offsets = {0};
      i.column_offsets = {0};
      for (int64_t b = 0; b < nb; ++b) {
        std::vector<uint8_t> listed(static_cast<size_t>(nb), 0);
        for (int64_t j = 0; j < nb; ++j) {
          if (b != 1 && rng() % 3 == 0) {  // query block 1 keeps nothing
            listed[static_cast<size_t>(j)] = 1;
            i.block_ids.push_back(static_cast<int32_t>(j));
          }
        }
        for (int64_t c = 0; c < n; ++c) {
          if (b != 1 && !listed[static_cast<size_t>(c / kBlock)] && rng() % 9 == 0) i.column_ids.push_back(static_cast<int32_t>(c));
        }
        i.block_offsets.push_back(static_cast<int64_t>(i.block_ids.size()));
        i.column_offsets.push_back(static_cast<int64_t>(i.column_ids.size()));
      }
      auto shuffled = [&] {
        std::vector<int32_t> p(static_cast<size_t>(n));
        for (int64_t t = 0; t < n; ++t) p[static_cast<size_t>(t)] = static_cast<int32_t>(t);
        std::shuffle(p.begin(), p.end(), rng);
        return p;
      };
      if (trial % 2 == 1) i.row_perm = shuffled();
      if (trial >= 2) i.col_perm = trial >= 4 ? i.row_perm : shuffled();
      if (i.col_perm.empty() && trial >= 4) i.col_perm = shuffled();
      CHECK(index_problem(i, n).empty()) << index_problem(i, n);
    }
    for (bool causal : {true, false}) {
      SparseOptions options;
      options.causal = causal;
      std::vector<float> o;
      sparse_attention(q.view(), k.view(), v.view(), idx, support::output(o, 2, n, 80), options);
      const double err = support::relative_error(o, masked_reference_f64(q.view(), k.view(), v.view(), idx, options));
      CHECK(err < 1e-5) << "trial " << trial << " causal " << causal << ": " << err;
      // Rows of query block 1 (kernel order) keep no key: zeros.
      for (int64_t p = 64; p < 128; ++p) {
        const int64_t row = through(idx[0].row_perm, p);
        for (int64_t d = 0; d < 80; ++d) CHECK(o[static_cast<size_t>(row * 80 + d)] == 0.0f) << "row " << row;
      }
    }
  }
}

TEST(a_shape_and_block_sparse_follow_their_definition) {
  const int64_t n = 300, sinks = 70, local = 100;
  const SparseIndex a = a_shape_index(n, sinks, local);
  const auto mask = render_mask(a, true);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t start = r / kBlock * kBlock;  // the query block's first row
    for (int64_t c = 0; c < n; ++c) {
      const int64_t kb = c / kBlock;
      const bool expect = c <= r && (kb * kBlock < sinks || (kb + 1) * kBlock > start - local + 1);
      CHECK(mask[static_cast<size_t>(r * n + c)] == expect) << "a-shape row " << r << " key " << c;
    }
  }
  std::mt19937_64 rng(3);
  const auto q = support::random_operand(DType::f32, 1, n, 64, rng), k = support::random_operand(DType::f32, 1, n, 64, rng);
  for (int64_t top_k : {0, 1, 2, 3, 100}) {
    const SparseIndex b = block_sparse_index(q.view(), k.view(), 0, top_k, 0.0f);
    CHECK(index_problem(b, n).empty());
    for (int64_t i = 0; i < num_blocks(n); ++i) {
      const auto first = b.block_ids.begin() + b.block_offsets[static_cast<size_t>(i)];
      const auto last = b.block_ids.begin() + b.block_offsets[static_cast<size_t>(i) + 1];
      const int64_t expected = std::min<int64_t>(std::max<int64_t>(top_k, i == 0 ? 1 : 2), i + 1);
      CHECK(last - first == expected) << "top_k " << top_k << " block " << i << ": " << (last - first);
      CHECK(*first == 0 && *(last - 1) == i) << "first and diagonal blocks are always kept";
    }
  }
}

TEST(head_estimator_equals_estimate_head) {
  // One estimator answers many configurations, in any order and with repeats, exactly as estimate_head does: the
  // rows, scores and pooled blocks it shares must not change a single index.
  for (const ModalityLayout& lay : layouts()) {
    const QKV in = synthetic_qkv({lay, 4, 2, 64, 9, 4});
    std::vector<PatternConfig> configs;
    for (Pattern p : kPatterns) {
      configs.push_back(small(p));
      PatternConfig wider = small(p);
      wider.vertical_slash = wider.text_rows = wider.video_rows = {60, 20};
      wider.text_to_text = wider.video_to_video = {5, 300};
      wider.top_k_blocks = 3;
      wider.grid_lines = 3;
      configs.push_back(wider);
    }
    configs.push_back(configs[4]);
    for (int64_t h : {int64_t{0}, int64_t{3}}) {
      HeadEstimator estimator(in.qv(), in.kv(), h, lay, 0.1f);
      for (size_t c = configs.size(); c-- > 0;) {
        const HeadEstimate shared = estimator.estimate(configs[c]);
        const HeadEstimate alone = estimate_head(in.qv(), in.kv(), h, lay, configs[c], 0.1f);
        const SparseIndex &a = shared.index, &b = alone.index;
        CHECK(a.block_offsets == b.block_offsets && a.block_ids == b.block_ids && a.column_offsets == b.column_offsets &&
              a.column_ids == b.column_ids && a.row_perm == b.row_perm && a.col_perm == b.col_perm)
            << "config " << c << " of head " << h << " at n " << lay.n();
        CHECK(shared.grid.size() == alone.grid.size());
        for (size_t g = 0; g < std::min(shared.grid.size(), alone.grid.size()); ++g) {
          CHECK(shared.grid[g].run.stride == alone.grid[g].run.stride && shared.grid[g].phases == alone.grid[g].phases &&
                shared.grid[g].score == alone.grid[g].score);
        }
      }
    }
  }
  const ModalityLayout lay = layouts()[0];
  const QKV in = synthetic_qkv({lay, 2, 1, 64, 1, 4});
  CHECK_THROWS_CODE(HeadEstimator(in.qv(), in.kv(), 2, lay), ErrorCode::InvalidArgument);
  HeadEstimator estimator(in.qv(), in.kv(), 0, lay);
  PatternConfig bad = small(Pattern::vertical_slash);
  bad.vertical_slash.slash = -1;
  CHECK_THROWS_CODE(estimator.estimate(bad), ErrorCode::InvalidArgument);
}

TEST(patterns_reject_hostile_configurations) {
  const ModalityLayout lay = layouts()[0];
  const QKV in = synthetic_qkv({lay, 2, 1, 64, 1, 4});
  auto estimate = [&](const PatternConfig& c, const ModalityLayout& l) {
    return estimate_heads(in.qv(), in.kv(), l, std::span(&c, 1));
  };
  PatternConfig c = small(Pattern::vertical_slash);
  c.vertical_slash.slash = -1;
  CHECK_THROWS_CODE(estimate(c, lay), ErrorCode::InvalidArgument);
  c = small(Pattern::grid);
  c.grid_lines = -2;
  CHECK_THROWS_CODE(estimate(c, lay), ErrorCode::InvalidArgument);
  c = small(Pattern::a_shape);
  c.local_tokens = -5;
  CHECK_THROWS_CODE(estimate(c, lay), ErrorCode::InvalidArgument);
  c.pattern = static_cast<Pattern>(42);
  CHECK_THROWS_CODE(estimate(c, lay), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(estimate(small(Pattern::grid), ModalityLayout::text_only(lay.n() + 1)), ErrorCode::InvalidArgument);
  const PatternConfig three[] = {small(Pattern::dense), small(Pattern::dense), small(Pattern::dense)};
  CHECK_THROWS_CODE(estimate_heads(in.qv(), in.kv(), lay, three), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(estimate_head(in.qv(), in.kv(), 2, lay, small(Pattern::dense)), ErrorCode::InvalidArgument);
  QKV poisoned = in;
  poisoned.k[5] = std::numeric_limits<float>::infinity();
  const PatternConfig vs = small(Pattern::vertical_slash);
  CHECK_THROWS_CODE(estimate_heads(poisoned.qv(), poisoned.kv(), lay, std::span(&vs, 1)), ErrorCode::NonFinite);

  // The sparse kernel refuses an index list of the wrong length or for another n.
  std::vector<float> o;
  const OutputView out = support::output(o, 2, lay.n(), 64);
  std::vector<SparseIndex> one = {full_index(lay.n())};
  CHECK_THROWS_CODE(sparse_attention(in.qv(), in.kv(), in.vv(), one, out), ErrorCode::InvalidArgument);
  std::vector<SparseIndex> wrong_n = {full_index(lay.n()), full_index(lay.n() - 1)};
  CHECK_THROWS_CODE(sparse_attention(in.qv(), in.kv(), in.vv(), wrong_n, out), ErrorCode::InvalidArgument);
  std::vector<SparseIndex> broken = {full_index(lay.n()), full_index(lay.n())};
  broken[1].block_ids[3] = 99;
  CHECK_THROWS_CODE(sparse_attention(in.qv(), in.kv(), in.vv(), broken, out), ErrorCode::InvalidArgument);
}
