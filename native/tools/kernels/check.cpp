// `mmi-kernels check`: every CUDA kernel against the CPU core's float64 references (kernels/cpu), on random and
// video-like inputs, odd sizes, GQA ratios, permuted indices, every pattern's estimated index, and at 1M/2M tokens
// on sampled rows. Outputs are poisoned with NaN before each run so an unwritten element fails the check.
#include "check.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "device_data.hpp"
#include "estimation.hpp"
#include "index_builder.hpp"
#include "inputs.hpp"
#include "mmi/attention/dense.hpp"
#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/layout.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/attention/synthetic.hpp"
#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/estimate.hpp"
#include "mmi/cuda/heatmap.hpp"
#include "mmi/cuda/index_build.hpp"

namespace mmi::kernels_tool {
namespace {

using cuda::Backend;
using cuda::DType;

double tolerance(DType dtype) { return dtype == DType::bf16 ? 1e-2 : 2e-3; }

class Report {
 public:
  explicit Report(FILE* json) : json_(json) {}
  void add(const std::string& name, const ErrorStats& e, double tol, double seconds) {
    const bool pass = e.nonfinite == 0 && e.rel_l2 <= tol && e.compared > 0;
    failures_ += pass ? 0 : 1;
    ++total_;
    std::printf("%s  %-72s rel_l2=%.2e max_abs=%.2e nonfinite=%lld tol=%.0e (%.1fs)\n", pass ? "PASS" : "FAIL",
                name.c_str(), e.rel_l2, e.max_abs, static_cast<long long>(e.nonfinite), tol, seconds);
    std::fflush(stdout);
    if (json_) {
      std::fprintf(json_,
                   "{\"kind\":\"check\",\"name\":\"%s\",\"pass\":%s,\"rel_l2\":%.4e,\"max_abs\":%.4e,"
                   "\"nonfinite\":%lld,\"tol\":%.1e}\n",
                   name.c_str(), pass ? "true" : "false", e.rel_l2, e.max_abs, static_cast<long long>(e.nonfinite),
                   tol);
    }
  }
  void add_exact(const std::string& name, bool pass, const std::string& detail) {
    failures_ += pass ? 0 : 1;
    ++total_;
    std::printf("%s  %-72s %s\n", pass ? "PASS" : "FAIL", name.c_str(), detail.c_str());
    std::fflush(stdout);
    if (json_) {
      std::fprintf(json_, "{\"kind\":\"check\",\"name\":\"%s\",\"pass\":%s,\"detail\":\"%s\"}\n", name.c_str(),
                   pass ? "true" : "false", detail.c_str());
    }
  }
  void error(const std::string& name, const std::string& what) {
    ++failures_;
    ++total_;
    std::printf("FAIL  %-72s error: %s\n", name.c_str(), what.c_str());
    std::fflush(stdout);
  }
  int failures() const { return failures_; }
  int total() const { return total_; }

 private:
  FILE* json_;
  int failures_ = 0;
  int total_ = 0;
};

struct Variant {
  std::string name;
  cuda::KernelOptions options;
};

// The kernels that can run a problem of this head dim here: every Hopper variant on an sm_90 GPU, the portable one
// everywhere. Dense problems also run the Hopper kernel's cp.async path (as sparse tiles are loaded).
std::vector<Variant> variants_for(int dim, bool dense) {
  std::vector<Variant> v;
  cuda::AttentionShape probe{64, 1, 1, dim, DType::bf16, 0.0f};
  bool hopper = false;
  try {
    hopper = cuda::resolve_backend(probe, Backend::Auto) == Backend::Hopper;
  } catch (const cuda::Error&) {
  }
  if (hopper) {
    v.push_back({dense ? "hopper-tma-pingpong" : "hopper-pingpong", {Backend::Hopper, true, true}});
    v.push_back({dense ? "hopper-copy" : "hopper", {Backend::Hopper, false, false}});
  }
  v.push_back({"portable", {Backend::Portable, false, false}});
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs dense or sparse attention on the device for one backend and returns the output.
std::vector<uint16_t> run_gpu(DeviceQKV& d, const cuda::KernelOptions& options, const cuda::DeviceIndex* index) {
  d.poison_output();
  if (index) {
    cuda::attention_sparse(d.shape.attention(), d.tensors(), index->view(), nullptr, options);
  } else {
    cuda::attention_dense_causal(d.shape.attention(), d.tensors(), nullptr, options);
  }
  cuda::synchronize();
  return d.download_output();
}

// A random valid index in kernel order: each causal-or-not key block with probability `p_block`, columns outside
// the chosen blocks with probability `p_col`; optional random permutations (then blocks anywhere, since causality
// is decided on original positions).
SparseIndex random_index(int64_t n, double p_block, double p_col, bool permute, std::mt19937_64& rng) {
  SparseIndex x;
  x.n = n;
  const int64_t nb = num_blocks(n);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  x.block_offsets.push_back(0);
  x.column_offsets.push_back(0);
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t last_block = permute ? nb - 1 : i;
    std::vector<uint8_t> chosen(static_cast<size_t>(nb), 0);
    for (int64_t b = 0; b <= last_block; ++b) {
      if (b == i || u(rng) < p_block) {
        chosen[static_cast<size_t>(b)] = 1;
        x.block_ids.push_back(static_cast<int32_t>(b));
      }
    }
    const int64_t last_key = permute ? n - 1 : std::min(n - 1, i * 64 + 63);
    for (int64_t k = 0; k <= last_key; ++k) {
      if (!chosen[static_cast<size_t>(k / 64)] && u(rng) < p_col) x.column_ids.push_back(static_cast<int32_t>(k));
    }
    x.block_offsets.push_back(static_cast<int64_t>(x.block_ids.size()));
    x.column_offsets.push_back(static_cast<int64_t>(x.column_ids.size()));
  }
  if (permute) {
    x.row_perm.resize(static_cast<size_t>(n));
    x.col_perm.resize(static_cast<size_t>(n));
    std::iota(x.row_perm.begin(), x.row_perm.end(), 0);
    std::iota(x.col_perm.begin(), x.col_perm.end(), 0);
    std::shuffle(x.row_perm.begin(), x.row_perm.end(), rng);
    std::shuffle(x.col_perm.begin(), x.col_perm.end(), rng);
  }
  return x;
}

void check_dense_small(Report& report) {
  struct Case {
    Shape s;
    bool synthetic;
  };
  const std::vector<Case> cases = {
      {{1, 2, 1, 128, DType::bf16}, false},    {{63, 4, 4, 64, DType::f16}, false},
      {{64, 2, 2, 128, DType::bf16}, false},   {{1000, 7, 1, 128, DType::bf16}, false},
      {{1000, 4, 2, 80, DType::bf16}, false},  {{777, 14, 2, 128, DType::f16}, false},
      {{2048, 8, 1, 64, DType::bf16}, false},  {{1500, 4, 4, 80, DType::f16}, false},
      {{3000, 4, 1, 128, DType::bf16}, true},
  };
  uint64_t seed = 11;
  for (const Case& c : cases) {
    HostQKV h;
    if (c.synthetic) {
      attention::SyntheticSpec spec;
      spec.layout = attention::synthetic_video_layout(c.s.n, 8, 12);
      spec.heads_q = c.s.heads_q;
      spec.heads_kv = c.s.heads_kv;
      spec.dim = c.s.dim;
      spec.seed = seed;
      h = host_from(attention::synthetic_qkv(spec), c.s.dtype);
    } else {
      h = host_random(c.s, seed);
    }
    ++seed;
    const auto ref = attention::dense_reference_f64(h.qv(), h.kv(), h.vv(), attention::DenseOptions{});
    DeviceQKV d(c.s);
    h.upload(d);
    for (const Variant& var : variants_for(c.s.dim, true)) {
      const std::string name = "dense " + var.name + " " + c.s.describe() + (c.synthetic ? " video-like" : " random");
      const auto t0 = std::chrono::steady_clock::now();
      try {
        const auto out = run_gpu(d, var.options, nullptr);
        report.add(name, compare(out, c.s, ref), tolerance(c.s.dtype), seconds_since(t0));
      } catch (const std::exception& e) {
        report.error(name, e.what());
      }
    }
  }
}

void check_sparse_case(Report& report, const std::string& label, const HostQKV& h,
                       const std::vector<SparseIndex>& index) {
  const auto ref = attention::masked_reference_f64(h.qv(), h.kv(), h.vv(), index, attention::SparseOptions{});
  DeviceQKV d(h.shape);
  h.upload(d);
  const cuda::DeviceIndex di = cuda::DeviceIndex::upload(index);
  const attention::Density dens = attention::density(index.front());
  char extra[64];
  std::snprintf(extra, sizeof extra, " density(h0)=%.3f", dens.value());
  for (const Variant& var : variants_for(h.shape.dim, false)) {
    const std::string name = "sparse " + var.name + " " + label + " " + h.shape.describe() + extra;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const auto out = run_gpu(d, var.options, &di);
      report.add(name, compare(out, h.shape, ref), tolerance(h.shape.dtype), seconds_since(t0));
    } catch (const std::exception& e) {
      report.error(name, e.what());
    }
  }
}

void check_sparse_small(Report& report) {
  std::mt19937_64 rng(7);
  struct Case {
    std::string label;
    Shape s;
    double p_block, p_col;
    bool permute;
  };
  const std::vector<Case> cases = {
      {"random-index", {1500, 4, 2, 128, DType::bf16}, 0.15, 0.02, false},
      {"random-index+perms", {1000, 7, 1, 64, DType::f16}, 0.2, 0.03, true},
      {"random-index+perms", {1111, 2, 2, 128, DType::bf16}, 0.1, 0.05, true},
      {"random-index", {900, 4, 1, 80, DType::bf16}, 0.2, 0.02, false},
      {"random-index+perms", {700, 4, 4, 80, DType::f16}, 0.2, 0.02, true},
      {"empty-rows", {640, 2, 1, 128, DType::bf16}, 0.0, 0.0, false},
  };
  uint64_t seed = 101;
  for (const Case& c : cases) {
    const HostQKV h = host_random(c.s, seed++);
    std::vector<SparseIndex> index;
    for (int32_t head = 0; head < c.s.heads_q; ++head) {
      SparseIndex x = random_index(c.s.n, c.p_block, c.p_col, c.permute, rng);
      if (c.label == "empty-rows" && head == 0) {
        // Query blocks 3 and 5 keep nothing: their rows must come out as zeros.
        for (int64_t qb : {3, 5}) {
          SparseIndex y;
          y.n = x.n;
          y.block_offsets.push_back(0);
          y.column_offsets.push_back(0);
          for (int64_t i = 0; i < num_blocks(x.n); ++i) {
            if (i != qb) {
              for (int64_t e = x.block_offsets[i]; e < x.block_offsets[i + 1]; ++e) y.block_ids.push_back(x.block_ids[e]);
              for (int64_t e = x.column_offsets[i]; e < x.column_offsets[i + 1]; ++e) {
                y.column_ids.push_back(x.column_ids[e]);
              }
            }
            y.block_offsets.push_back(static_cast<int64_t>(y.block_ids.size()));
            y.column_offsets.push_back(static_cast<int64_t>(y.column_ids.size()));
          }
          x = y;
        }
      }
      index.push_back(std::move(x));
    }
    check_sparse_case(report, c.label, h, index);
  }
  // The full index is dense causal attention.
  const Shape s{1234, 4, 2, 128, DType::bf16};
  const HostQKV h = host_random(s, seed++);
  check_sparse_case(report, "full-index", h, std::vector<SparseIndex>(4, attention::full_index(s.n)));
}

// Every pattern's index as the CPU core estimates it on video-like inputs, computed by the sparse kernel.
void check_patterns(Report& report) {
  const int64_t n = 4096;
  attention::SyntheticSpec spec;
  spec.layout = attention::synthetic_video_layout(n, 8, 12, 64, 96);
  spec.heads_q = 4;
  spec.heads_kv = 1;
  spec.dim = 128;
  spec.seed = 5;
  const HostQKV h = host_from(attention::synthetic_qkv(spec), DType::bf16);
  using attention::Pattern;
  for (const Pattern p : {Pattern::a_shape, Pattern::vertical_slash, Pattern::block_sparse, Pattern::grid,
                          Pattern::q_boundary, Pattern::two_d_boundary}) {
    attention::PatternConfig cfg;
    cfg.pattern = p;
    cfg.sink_tokens = 64;
    cfg.local_tokens = 512;
    cfg.vertical_slash = {100, 500};
    cfg.top_k_blocks = 8;
    cfg.text_rows = cfg.video_rows = {100, 500};
    cfg.text_to_text = cfg.text_to_video = cfg.video_to_text = cfg.video_to_video = {100, 500};
    const std::vector<attention::PatternConfig> configs{cfg};
    try {
      const auto est = attention::estimate_heads(h.qv(), h.kv(), spec.layout, configs);
      std::vector<SparseIndex> index;
      for (const auto& e : est) index.push_back(e.index);
      check_sparse_case(report, std::string("pattern ") + attention::pattern_name(p), h, index);
    } catch (const std::exception& e) {
      report.error(std::string("pattern ") + attention::pattern_name(p), e.what());
    }
  }
}

// The GPU vertical-slash converter against the CPU core's index builder on the same lists.
void check_vertical_slash_builder(Report& report) {
  std::mt19937_64 rng(3);
  for (const int64_t n : {int64_t{1}, int64_t{1000}, int64_t{4097}, int64_t{70000}}) {
    const int32_t heads = 3;
    const int32_t vw = 300, sw = 400;
    std::vector<int32_t> vert(static_cast<size_t>(heads) * vw, -1), slash(static_cast<size_t>(heads) * sw, -1);
    std::vector<std::vector<int64_t>> vlists(heads), slists(heads);
    for (int32_t h = 0; h < heads; ++h) {
      std::vector<int64_t> v, s;
      std::uniform_int_distribution<int64_t> key(0, n - 1);
      const int64_t vc = std::min<int64_t>(vw - h * 50, n);
      // Head 1 holds a whole block of verticals (promoted to a block) and a contiguous run of slashes.
      if (h == 1) {
        for (int64_t k = 128; k < 192 && k < n; ++k) v.push_back(k);
        for (int64_t o = 0; o < std::min<int64_t>(300, n); ++o) s.push_back(o);
      }
      while (static_cast<int64_t>(v.size()) < vc) v.push_back(key(rng));
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      for (int64_t o = 0; o < std::min<int64_t>(30, n); ++o) s.push_back(o);
      while (static_cast<int64_t>(s.size()) < std::min<int64_t>(sw - h * 100, n)) s.push_back(key(rng));
      std::sort(s.begin(), s.end());
      s.erase(std::unique(s.begin(), s.end()), s.end());
      for (size_t j = 0; j < v.size(); ++j) vert[static_cast<size_t>(h) * vw + j] = static_cast<int32_t>(v[j]);
      for (size_t j = 0; j < s.size(); ++j) slash[static_cast<size_t>(h) * sw + j] = static_cast<int32_t>(s[j]);
      vlists[h] = v;
      slists[h] = s;
    }
    const std::string name = "vertical-slash index builder N=" + std::to_string(n);
    try {
      cuda::DeviceBuffer<int32_t> dv(vert), ds(slash);
      const cuda::DeviceIndex gpu = cuda::vertical_slash_index(n, heads, dv.get(), vw, ds.get(), sw);
      bool same = true;
      std::string detail = "identical to the CPU index builder";
      for (int32_t h = 0; h < heads && same; ++h) {
        attention::detail::IndexBuilder builder(n, {}, {});
        for (int64_t qb = 0; qb < num_blocks(n); ++qb) {
          const int64_t a = qb * 64, last = std::min(n - 1, a + 63);
          for (const int64_t o : slists[h]) {
            if (o <= last) builder.add_range(qb, a - o, last - o + 1);
          }
          for (const int64_t v : vlists[h]) {
            if (v <= last) builder.add_column(qb, v);
          }
        }
        const SparseIndex cpu = builder.finish(true);
        const SparseIndex g = gpu.download_head(h);
        if (cpu.block_offsets != g.block_offsets || cpu.block_ids != g.block_ids ||
            cpu.column_offsets != g.column_offsets || cpu.column_ids != g.column_ids) {
          same = false;
          detail = "head " + std::to_string(h) + " differs (blocks " + std::to_string(g.block_ids.size()) + " vs " +
                   std::to_string(cpu.block_ids.size()) + ", columns " + std::to_string(g.column_ids.size()) + " vs " +
                   std::to_string(cpu.column_ids.size()) + ")";
        }
      }
      report.add_exact(name, same, detail);
    } catch (const std::exception& e) {
      report.error(name, e.what());
    }
  }
}

// Float64 output of sampled rows of query head `head`: the CPU core's causal softmax rows, restricted to the mask
// and renormalised when an index is given (softmax over a subset = dense softmax renormalised on it).
std::vector<double> sampled_reference(const DeviceQKV& d, int32_t head, const std::vector<int64_t>& rows,
                                      const SparseIndex* index) {
  const Shape& s = d.shape;
  const int64_t nd = s.n * s.dim;
  const int32_t kvh = head / (s.heads_q / s.heads_kv);
  std::vector<uint16_t> q(static_cast<size_t>(nd)), k(static_cast<size_t>(nd)), v(static_cast<size_t>(nd));
  cuda::copy_to_host(q.data(), d.q.get() + head * nd, q.size() * 2);
  cuda::copy_to_host(k.data(), d.k.get() + kvh * nd, k.size() * 2);
  cuda::copy_to_host(v.data(), d.v.get() + kvh * nd, v.size() * 2);
  const attention::HeadsView qv{q.data(), s.cpu_dtype(), 1, s.n, s.dim, 0, 0};
  const attention::HeadsView kv{k.data(), s.cpu_dtype(), 1, s.n, s.dim, 0, 0};
  const std::vector<double> p = attention::attention_rows(qv, kv, 0, rows, 0.0f);
  std::vector<double> out(rows.size() * static_cast<size_t>(s.dim), 0.0);
  std::vector<uint8_t> keep;
  std::optional<attention::MaskRows> mask;
  if (index) mask.emplace(*index, true);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double* pr = p.data() + r * static_cast<size_t>(s.n);
    if (mask) mask->keep(rows[r], keep);
    double total = 0.0;
    for (int64_t key = 0; key <= rows[r]; ++key) {
      if (mask && !keep[static_cast<size_t>(key)]) continue;
      total += pr[key];
      const uint16_t* vr = v.data() + key * s.dim;
      for (int32_t c = 0; c < s.dim; ++c) out[r * s.dim + c] += pr[key] * from_bits(vr[c], s.dtype);
    }
    for (int32_t c = 0; c < s.dim; ++c) out[r * s.dim + c] = total > 0.0 ? out[r * s.dim + c] / total : 0.0;
  }
  return out;
}

// The worst error over several comparisons, counts summed.
void merge_worst(ErrorStats& total, const ErrorStats& e) {
  total.rel_l2 = std::max(total.rel_l2, e.rel_l2);
  total.max_abs = std::max(total.max_abs, e.max_abs);
  total.nonfinite += e.nonfinite;
  total.compared += e.compared;
}

std::vector<uint16_t> output_rows(const DeviceQKV& d, int32_t head, const std::vector<int64_t>& rows) {
  const Shape& s = d.shape;
  std::vector<uint16_t> out(rows.size() * static_cast<size_t>(s.dim));
  for (size_t r = 0; r < rows.size(); ++r) {
    cuda::copy_to_host(out.data() + r * s.dim, d.o.get() + (head * s.n + rows[r]) * s.dim, s.dim * 2);
  }
  return out;
}

std::vector<int64_t> sample(int64_t n, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  std::vector<int64_t> rows{0, 1, 63, 64, n - 1};
  while (static_cast<int>(rows.size()) < count) rows.push_back(pick(rng));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

// The benchmark's fixed vertical-slash structure: the first 1000 key columns and the 6096 nearest diagonals.
cuda::DeviceIndex fixed_vertical_slash(int64_t n, int32_t heads) {
  const int32_t vc = 1000, sc = 6096;
  std::vector<int32_t> vert(static_cast<size_t>(heads) * vc), slash(static_cast<size_t>(heads) * sc);
  for (int32_t h = 0; h < heads; ++h) {
    for (int32_t j = 0; j < vc; ++j) vert[static_cast<size_t>(h) * vc + j] = j < n ? j : -1;
    for (int32_t j = 0; j < sc; ++j) slash[static_cast<size_t>(h) * sc + j] = j < n ? j : -1;
  }
  cuda::DeviceBuffer<int32_t> dv(vert), ds(slash);
  return cuda::vertical_slash_index(n, heads, dv.get(), vc, ds.get(), sc);
}

void check_large(Report& report) {
  {
    const Shape s{1 << 20, 2, 1, 128, DType::bf16};
    DeviceQKV d(s);
    d.fill_random(901);
    // The dense kernels' 1M run once per family member was checked in earlier runs; keep the default one here.
    for (const Variant& var : variants_for(s.dim, true)) {
      if (var.name != "hopper-tma-pingpong" && var.name != "portable") continue;
      const std::string name = "dense " + var.name + " " + s.describe() + " sampled rows";
      const auto t0 = std::chrono::steady_clock::now();
      try {
        run_gpu(d, var.options, nullptr);
        ErrorStats total;
        for (int32_t head = 0; head < s.heads_q; ++head) {
          const auto rows = sample(s.n, 12, 5 + head);
          const auto e = compare(output_rows(d, head, rows), {static_cast<int64_t>(rows.size()), 1, 1, s.dim, s.dtype},
                                 sampled_reference(d, head, rows, nullptr));
          merge_worst(total, e);
        }
        total.nonfinite += count_nonfinite(d.o.get(), s.q_elems(), s.dtype);
        report.add(name, total, tolerance(s.dtype), seconds_since(t0));
      } catch (const std::exception& e) {
        report.error(name, e.what());
      }
    }
  }
  for (const int64_t n : {int64_t{1} << 20, int64_t{2} << 20}) {
    const Shape s{n, 28, 4, 128, DType::bf16};
    const std::string base = "sparse fixed vertical-slash (1000 v, 6096 s) " + s.describe() + " sampled rows";
    try {
      DeviceQKV d(s);
      d.fill_random(1000 + n);
      const cuda::DeviceIndex index = fixed_vertical_slash(n, s.heads_q);
      for (const Variant& var : variants_for(s.dim, false)) {
        if (n > (int64_t{1} << 20) && var.name == "portable") continue;  // the portable kernel: 1M is enough
        const std::string name = var.name + " " + base;
        const auto t0 = std::chrono::steady_clock::now();
        try {
          run_gpu(d, var.options, &index);
          ErrorStats total;
          for (const int32_t head : {0, 13, 27}) {
            const auto rows = sample(s.n, 8, 77 + head);
            const SparseIndex x = index.download_head(head);
            const auto e = compare(output_rows(d, head, rows),
                                   {static_cast<int64_t>(rows.size()), 1, 1, s.dim, s.dtype},
                                   sampled_reference(d, head, rows, &x));
            merge_worst(total, e);
          }
          total.nonfinite += count_nonfinite(d.o.get(), s.q_elems(), s.dtype);
          report.add(name, total, tolerance(s.dtype), seconds_since(t0));
        } catch (const std::exception& e) {
          report.error(name, e.what());
        }
      }
    } catch (const std::exception& e) {
      report.error(base, e.what());
    }
  }
}

bool same_index(const SparseIndex& a, const SparseIndex& b) {
  return a.block_offsets == b.block_offsets && a.block_ids == b.block_ids && a.column_offsets == b.column_offsets &&
         a.column_ids == b.column_ids && a.row_perm == b.row_perm && a.col_perm == b.col_perm;
}

// GPU estimation against the CPU core on video-like inputs: the last rows' column/diagonal mass, the vertical-slash
// index (identical, or at least the CPU's recall), the grid choices, and the grid index built from the CPU's choices
// (identical).
void check_estimation(Report& report) {
  for (const int64_t n : {int64_t{4096}, int64_t{6001}}) {
    attention::SyntheticSpec spec;
    spec.layout = attention::synthetic_video_layout(n, 8, 12, 64, 96);
    spec.heads_q = 4;
    spec.heads_kv = 1;
    spec.dim = 128;
    spec.seed = 9;
    const HostQKV h = host_from(attention::synthetic_qkv(spec), DType::bf16);
    DeviceQKV d(h.shape);
    h.upload(d);
    const auto shape = h.shape.attention();
    const std::string tag = std::string(" ").append(h.shape.describe());
    const double scale = 1.0 / std::sqrt(128.0);
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const cuda::RowsMass gm = cuda::last_rows_mass(shape, d.q.get(), d.k.get(), 0, n);
      const auto gc = gm.column.download(), gd = gm.diagonal.download();
      std::vector<double> ref, got;
      for (int32_t head = 0; head < h.shape.heads_q; ++head) {
        std::vector<int64_t> rows;
        for (int64_t r = std::max<int64_t>(0, n - 64); r < n; ++r) rows.push_back(r);
        std::vector<double> col(static_cast<size_t>(n), 0.0), diag(static_cast<size_t>(n), 0.0);
        attention::detail::for_each_attention_row(h.qv(), h.kv(), head, rows, scale,
                                                  [&](size_t i, std::span<const double> w) {
                                                    for (int64_t key = 0; key <= rows[i]; ++key) {
                                                      col[static_cast<size_t>(key)] += w[static_cast<size_t>(key)];
                                                      diag[static_cast<size_t>(rows[i] - key)] += w[static_cast<size_t>(key)];
                                                    }
                                                  });
        ref.insert(ref.end(), col.begin(), col.end());
        ref.insert(ref.end(), diag.begin(), diag.end());
        got.insert(got.end(), gc.begin() + head * n, gc.begin() + (head + 1) * n);
        got.insert(got.end(), gd.begin() + head * n, gd.begin() + (head + 1) * n);
      }
      ErrorStats e;
      double num = 0.0, den = 0.0;
      for (size_t i = 0; i < ref.size(); ++i) {
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
        e.max_abs = std::max(e.max_abs, std::fabs(got[i] - ref[i]));
        e.nonfinite += std::isfinite(got[i]) ? 0 : 1;
      }
      e.rel_l2 = std::sqrt(num / den);
      e.compared = static_cast<int64_t>(ref.size());
      report.add("estimation last-rows column+diagonal mass" + tag, e, 1e-3, seconds_since(t0));
    } catch (const std::exception& e) {
      report.error("estimation last-rows mass" + tag, e.what());
    }

    attention::PatternConfig vs;
    vs.pattern = attention::Pattern::vertical_slash;
    vs.vertical_slash = {100, 500};
    const std::vector<attention::PatternConfig> vs_cfg{vs};
    const auto cpu_vs = attention::estimate_heads(h.qv(), h.kv(), spec.layout, vs_cfg);
    try {
      const cuda::DeviceIndex gvs = cuda::estimate_vertical_slash(shape, d.q.get(), d.k.get(), 100, 500);
      int same = 0;
      double worst = 1.0;
      const auto rows = attention::sample_rows(n, 16);
      for (int32_t head = 0; head < h.shape.heads_q; ++head) {
        const SparseIndex g = gvs.download_head(head);
        if (same_index(g, cpu_vs[static_cast<size_t>(head)].index)) {
          ++same;
          continue;
        }
        const double rg = attention::recall(h.qv(), h.kv(), head, g, rows);
        const double rc = attention::recall(h.qv(), h.kv(), head, cpu_vs[static_cast<size_t>(head)].index, rows);
        worst = std::min(worst, rg - rc + 1.0);
      }
      char detail[128];
      std::snprintf(detail, sizeof detail, "%d of %d heads identical; worst recall vs CPU %+.4f", same,
                    h.shape.heads_q, worst - 1.0);
      report.add_exact("estimation vertical-slash index (100, 500)" + tag, worst >= 0.99, detail);
    } catch (const std::exception& e) {
      report.error("estimation vertical-slash" + tag, e.what());
    }

    attention::PatternConfig gridc;
    gridc.pattern = attention::Pattern::grid;
    gridc.sink_tokens = 64;
    gridc.local_tokens = 512;
    gridc.grid_lines = 4;
    const std::vector<attention::PatternConfig> grid_cfg{gridc};
    const auto cpu_grid = attention::estimate_heads(h.qv(), h.kv(), spec.layout, grid_cfg);
    std::vector<cuda::VideoRunSpec> runs;
    for (const auto& r : spec.layout.video_runs()) runs.push_back({r.start, r.length(), r.period()});
    try {
      const auto gpu_choices = cuda::estimate_grid(shape, d.q.get(), d.k.get(), runs, 4);
      int agree = 0, total = 0;
      std::vector<std::vector<cuda::GridRunChoice>> cpu_choices(static_cast<size_t>(h.shape.heads_q));
      for (int32_t head = 0; head < h.shape.heads_q; ++head) {
        for (size_t r = 0; r < runs.size(); ++r) {
          const auto& c = cpu_grid[static_cast<size_t>(head)].grid[r];
          const auto& g = gpu_choices[static_cast<size_t>(head)][r];
          ++total;
          agree += (c.run.stride == g.stride && c.phases == g.phases) ? 1 : 0;
          cpu_choices[static_cast<size_t>(head)].push_back({c.run.start, c.run.length, c.run.stride, c.phases, c.score});
        }
      }
      report.add_exact("estimation grid choices (stride, phases)" + tag, agree == total,
                       std::to_string(agree) + " of " + std::to_string(total) + " runs agree with the CPU core");
      const cuda::DeviceIndex gi = cuda::grid_index(n, cpu_choices, gridc.sink_tokens, gridc.local_tokens);
      int same = 0;
      for (int32_t head = 0; head < h.shape.heads_q; ++head) {
        same += same_index(gi.download_head(head), cpu_grid[static_cast<size_t>(head)].index) ? 1 : 0;
      }
      report.add_exact("grid index from the CPU's choices" + tag, same == h.shape.heads_q,
                       std::to_string(same) + " of " + std::to_string(h.shape.heads_q) + " heads identical");
    } catch (const std::exception& e) {
      report.error("estimation grid" + tag, e.what());
    }
  }
}

// The modality order of a layout, for the GPU boundary estimators.
cuda::ModalityOrder order_of(const attention::ModalityLayout& layout) {
  std::vector<cuda::ModalitySpan> spans;
  const auto& segs = layout.segments();
  for (size_t i = 0; i < segs.size(); ++i) {
    const int64_t start = layout.starts()[i];
    spans.push_back({start, layout.starts()[i + 1] - start, segs[i].modality == attention::Modality::video});
  }
  return cuda::ModalityOrder(layout.n(), spans);
}

cuda::VerticalSlashBudget gpu_budget(const attention::VerticalSlashBudget& b) { return {b.vertical, b.slash}; }

// The GPU's online estimate of one of the patterns estimated on the device for every head of d.
cuda::DeviceIndex gpu_estimate(const DeviceQKV& d, const attention::ModalityLayout& layout,
                               const attention::PatternConfig& c) {
  const auto shape = d.shape.attention();
  switch (c.pattern) {
    case attention::Pattern::block_sparse:
      return cuda::estimate_block_sparse(shape, d.q.get(), d.k.get(), c.top_k_blocks);
    case attention::Pattern::q_boundary:
      return cuda::estimate_q_boundary(shape, d.q.get(), d.k.get(), order_of(layout), gpu_budget(c.text_rows),
                                       gpu_budget(c.video_rows));
    case attention::Pattern::two_d_boundary:
      return cuda::estimate_2d_boundary(shape, d.q.get(), d.k.get(), order_of(layout),
                                        {gpu_budget(c.text_to_text), gpu_budget(c.text_to_video),
                                         gpu_budget(c.video_to_text), gpu_budget(c.video_to_video)});
    default:
      throw std::invalid_argument("not a GPU-estimated pattern here");
  }
}

// Block-sparse, Q-boundary and 2D-boundary estimated on the GPU against the CPU core's estimates of the same
// inputs (each head's index identical, or at least the CPU's recall less 0.01 on sampled rows), the sparse kernel
// on the GPU's index against the float64 reference on that index, and at full budget every causal pair kept
// (so the kernel's output is dense attention's). Video-like and random inputs, GQA, odd lengths, several modality
// runs. Quick: one small case (for compute-sanitizer).
void check_gpu_patterns(Report& report, bool quick) {
  struct Case {
    std::string label;
    Shape s;
    attention::ModalityLayout layout;
    bool synthetic;
  };
  using attention::Segment;
  const std::vector<Segment> mixed = {Segment::text(37),     Segment::video(3, 6, 8), Segment::text(50),
                                      Segment::video(5, 8, 8), Segment::text(29),     Segment::video(2, 10, 12),
                                      Segment::text(70)};
  const std::vector<Segment> mixed_long = {Segment::text(64),      Segment::video(6, 8, 12), Segment::text(200),
                                           Segment::video(8, 8, 12), Segment::text(45),      Segment::video(4, 12, 16),
                                           Segment::text(96)};
  std::vector<Case> cases;
  cases.push_back({"video-like", {4096, 4, 1, 128, DType::bf16}, attention::synthetic_video_layout(4096, 8, 12, 64, 96),
                   true});
  {
    const auto layout = attention::ModalityLayout::make(mixed_long);
    cases.push_back({"video-like 3 videos", {layout.n(), 6, 2, 128, DType::bf16}, layout, true});
  }
  {
    const auto layout = attention::ModalityLayout::make(mixed);
    cases.push_back({"random 3 videos", {layout.n(), 6, 2, 64, DType::f16}, layout, false});
    cases.push_back({"random 3 videos", {layout.n(), 4, 4, 80, DType::bf16}, layout, false});
  }
  if (quick) cases.erase(cases.begin(), cases.begin() + 2);
  if (quick) cases.resize(1);
  uint64_t seed = 71;
  for (const Case& c : cases) {
    HostQKV h;
    if (c.synthetic) {
      attention::SyntheticSpec spec;
      spec.layout = c.layout;
      spec.heads_q = c.s.heads_q;
      spec.heads_kv = c.s.heads_kv;
      spec.dim = c.s.dim;
      spec.seed = seed;
      h = host_from(attention::synthetic_qkv(spec), c.s.dtype);
    } else {
      h = host_random(c.s, seed);
    }
    ++seed;
    DeviceQKV d(h.shape);
    h.upload(d);
    const int64_t n = c.s.n;
    const auto rows = attention::sample_rows(n, 16);
    for (const attention::Pattern p :
         {attention::Pattern::block_sparse, attention::Pattern::q_boundary, attention::Pattern::two_d_boundary}) {
      for (const bool full : {false, true}) {
        attention::PatternConfig cfg;
        cfg.pattern = p;
        const attention::VerticalSlashBudget b = full ? attention::VerticalSlashBudget{n, 2 * n}
                                                      : attention::VerticalSlashBudget{100, 500};
        cfg.top_k_blocks = full ? num_blocks(n) : 8;
        cfg.text_rows = cfg.video_rows = b;
        cfg.text_to_text = cfg.text_to_video = cfg.video_to_text = cfg.video_to_video = b;
        const std::string name = std::string("GPU estimation ") + attention::pattern_name(p) +
                                 (full ? " full budget " : " ") + c.label + " " + h.shape.describe();
        const auto t0 = std::chrono::steady_clock::now();
        try {
          const cuda::DeviceIndex g = gpu_estimate(d, c.layout, cfg);
          const std::vector<SparseIndex> gi = g.download();
          if (full) {
            bool every = true;
            for (const SparseIndex& x : gi) {
              attention::validate_index(x, n, "GPU index");
              const attention::Density dn = attention::density(x);
              every = every && dn.computed == dn.total;
            }
            report.add_exact(name + " keeps every causal pair", every, every ? "density 1 on every head" : "a pair lost");
          } else {
            const auto cpu = attention::estimate_heads(h.qv(), h.kv(), c.layout, std::vector{cfg});
            int same = 0;
            double worst = 0.0, mean_gpu = 0.0, mean_cpu = 0.0;
            for (int32_t head = 0; head < h.shape.heads_q; ++head) {
              attention::validate_index(gi[static_cast<size_t>(head)], n, "GPU index");
              const SparseIndex& ci = cpu[static_cast<size_t>(head)].index;
              const double rg = attention::recall(h.qv(), h.kv(), head, gi[static_cast<size_t>(head)], rows);
              const double rc = attention::recall(h.qv(), h.kv(), head, ci, rows);
              same += same_index(gi[static_cast<size_t>(head)], ci) ? 1 : 0;
              worst = std::min(worst, rg - rc);
              mean_gpu += rg / h.shape.heads_q;
              mean_cpu += rc / h.shape.heads_q;
            }
            char detail[160];
            std::snprintf(detail, sizeof detail,
                          "%d of %d heads identical to the CPU core; recall %.4f vs CPU %.4f, worst head %+.4f (%.1fs)",
                          same, h.shape.heads_q, mean_gpu, mean_cpu, worst, seconds_since(t0));
            report.add_exact(name + " vs CPU estimate", worst >= -0.01, detail);
          }
          check_sparse_case(report, std::string("GPU-estimated ") + attention::pattern_name(p) +
                                        (full ? " full budget " : " ") + c.label,
                            h, gi);
        } catch (const std::exception& e) {
          report.error(name, e.what());
        }
      }
    }
  }
}

// GPU heatmaps against the CPU core's attention::heatmaps on the same 16-bit inputs and index: masks, sample counts
// and coverage identical, mass to fp32 rounding, recall within 1e-4.
void check_heatmap_case(Report& report, const std::string& label, const HostQKV& h,
                        const std::vector<SparseIndex>& index, const attention::HeatmapOptions& options) {
  std::vector<int64_t> heads(static_cast<size_t>(h.shape.heads_q));
  std::iota(heads.begin(), heads.end(), 0);
  const std::string name = "heatmaps " + label + " " + h.shape.describe() + " G=" + std::to_string(options.grid) +
                           " S=" + std::to_string(options.samples) + (options.causal ? "" : " non-causal");
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const auto cpu = attention::heatmaps(h.qv(), h.kv(), index, heads, options);
    DeviceQKV d(h.shape);
    h.upload(d);
    const cuda::DeviceIndex di = cuda::DeviceIndex::upload(index);
    const auto gpu = cuda::heatmaps(h.shape.attention(), d.q.get(), d.k.get(), di.view(), heads, options);
    ErrorStats e;
    double num = 0.0, den = 0.0, recall_diff = 0.0;
    bool exact = gpu.size() == cpu.size();
    for (size_t i = 0; exact && i < cpu.size(); ++i) {
      const attention::Heatmap &c = cpu[i], &g = gpu[i];
      exact = c.head == g.head && c.rows == g.rows && c.mask == g.mask && c.mask_permuted == g.mask_permuted &&
              c.row_samples == g.row_samples && c.row_samples_permuted == g.row_samples_permuted &&
              c.coverage == g.coverage;
      for (const auto& [cm, gm] : {std::pair{&c.mass, &g.mass}, std::pair{&c.mass_permuted, &g.mass_permuted}}) {
        for (size_t j = 0; j < cm->size(); ++j) {
          const double diff = static_cast<double>((*gm)[j]) - static_cast<double>((*cm)[j]);
          num += diff * diff;
          den += static_cast<double>((*cm)[j]) * static_cast<double>((*cm)[j]);
          e.max_abs = std::max(e.max_abs, std::fabs(diff));
          e.nonfinite += std::isfinite((*gm)[j]) ? 0 : 1;
          ++e.compared;
        }
      }
      recall_diff = std::max(recall_diff, std::fabs(c.recall - g.recall));
    }
    e.rel_l2 = den > 0.0 ? std::sqrt(num / den) : 0.0;
    const bool pass = exact && recall_diff <= 1e-4;
    report.add(name + " mass", e, 1e-4, seconds_since(t0));
    char detail[160];
    std::snprintf(detail, sizeof detail, "masks, sample counts, coverage %s; recall max diff %.1e",
                  exact ? "identical" : "DIFFER", recall_diff);
    report.add_exact(name + " masks and recall", pass, detail);
  } catch (const std::exception& e) {
    report.error(name, e.what());
  }
}

void check_heatmaps(Report& report, bool quick) {
  std::mt19937_64 rng(23);
  {
    const Shape s{777, 4, 2, 128, DType::bf16};
    const HostQKV h = host_random(s, 31);
    std::vector<SparseIndex> index;
    for (int32_t head = 0; head < s.heads_q; ++head) index.push_back(random_index(s.n, 0.2, 0.03, head % 2 == 1, rng));
    check_heatmap_case(report, "random-index+perms", h, index, {32, 16, true, 0.0f});
    if (!quick) check_heatmap_case(report, "random-index+perms", h, index, {777, 100, false, 0.0f});
  }
  if (quick) return;
  // Estimated grid (permuted) and vertical-slash indices on video-like inputs, f16 and head dim 80 too.
  const int64_t n = 4096;
  attention::SyntheticSpec spec;
  spec.layout = attention::synthetic_video_layout(n, 8, 12, 64, 96);
  spec.heads_q = 4;
  spec.heads_kv = 2;
  spec.dim = 80;
  spec.seed = 41;
  const attention::QKV x = attention::synthetic_qkv(spec);
  for (const DType dtype : {DType::bf16, DType::f16}) {
    const HostQKV h = host_from(x, dtype);
    for (const attention::Pattern p : {attention::Pattern::grid, attention::Pattern::vertical_slash}) {
      attention::PatternConfig cfg;
      cfg.pattern = p;
      cfg.sink_tokens = 64;
      cfg.local_tokens = 512;
      cfg.grid_lines = 4;
      cfg.vertical_slash = {100, 500};
      const auto est = attention::estimate_heads(h.qv(), h.kv(), spec.layout, std::vector{cfg});
      std::vector<SparseIndex> index;
      for (const auto& e : est) index.push_back(e.index);
      check_heatmap_case(report, std::string("pattern ") + attention::pattern_name(p), h, index, {64, 64, true, 0.0f});
    }
  }
}

// estimate_grid refuses what the GPU grid index cannot keep (more than 16 lines or 8 video runs) with an
// InvalidArgument error; at 16 lines it agrees with the CPU core, on a non-blocking stream as on the default one.
void check_grid_limits(Report& report) {
  const int64_t n = 2048;
  attention::SyntheticSpec spec;
  spec.layout = attention::synthetic_video_layout(n, 4, 8, 64, 64);
  spec.heads_q = 2;
  spec.heads_kv = 1;
  spec.dim = 64;
  spec.seed = 13;
  const HostQKV h = host_from(attention::synthetic_qkv(spec), DType::bf16);
  DeviceQKV d(h.shape);
  h.upload(d);
  const auto shape = h.shape.attention();
  std::vector<cuda::VideoRunSpec> runs;
  for (const auto& r : spec.layout.video_runs()) runs.push_back({r.start, r.length(), r.period()});
  auto refused = [&](const std::string& name, int64_t lines, const std::vector<cuda::VideoRunSpec>& which) {
    try {
      cuda::estimate_grid(shape, d.q.get(), d.k.get(), which, lines);
      report.add_exact(name, false, "accepted");
    } catch (const cuda::Error& e) {
      report.add_exact(name, e.kind() == cuda::ErrorKind::InvalidArgument, std::string("refused: ") + e.what());
    }
  };
  refused("estimation grid refuses 17 lines", cuda::kMaxGridLines + 1, runs);
  refused("estimation grid refuses 9 video runs", 4, std::vector<cuda::VideoRunSpec>(9, runs.front()));
  try {
    attention::PatternConfig cfg;
    cfg.pattern = attention::Pattern::grid;
    cfg.sink_tokens = 64;
    cfg.local_tokens = 256;
    cfg.grid_lines = cuda::kMaxGridLines;
    const auto cpu = attention::estimate_heads(h.qv(), h.kv(), spec.layout, std::vector{cfg});
    cudaStream_t stream = nullptr;
    MMI_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    struct Destroy {
      cudaStream_t s;
      ~Destroy() { cudaStreamDestroy(s); }
    } destroy{stream};
    const auto on_default = cuda::estimate_grid(shape, d.q.get(), d.k.get(), runs, cuda::kMaxGridLines);
    const auto on_stream = cuda::estimate_grid(shape, d.q.get(), d.k.get(), runs, cuda::kMaxGridLines, stream);
    // The last rows' mass is summed with float atomics, so scores differ between runs in their last bits: the
    // choices must be identical, the scores close.
    int agree = 0, same = 0, total = 0;
    double score_diff = 0.0;
    for (int32_t head = 0; head < h.shape.heads_q; ++head) {
      for (size_t r = 0; r < runs.size(); ++r) {
        const auto& c = cpu[static_cast<size_t>(head)].grid[r];
        const auto& g = on_default[static_cast<size_t>(head)][r];
        const auto& s = on_stream[static_cast<size_t>(head)][r];
        ++total;
        agree += c.run.stride == g.stride && c.phases == g.phases ? 1 : 0;
        same += s.stride == g.stride && s.phases == g.phases ? 1 : 0;
        score_diff = std::max(score_diff, std::fabs(s.score - g.score) / std::max(1e-12, std::fabs(g.score)));
      }
    }
    report.add_exact("estimation grid at 16 lines vs CPU", agree == total,
                     std::to_string(agree) + " of " + std::to_string(total) + " runs agree with the CPU core");
    char detail[128];
    std::snprintf(detail, sizeof detail, "%d of %d runs choose as on the default stream; score rel. diff %.1e", same,
                  total, score_diff);
    report.add_exact("estimation grid on a non-blocking stream", same == total && score_diff <= 1e-4, detail);
  } catch (const std::exception& e) {
    report.error("estimation grid at 16 lines", e.what());
  }
}

// A few small problems touching every kernel path (dense, sparse with permutations, column tiles, the index
// builder), for compute-sanitizer, under which everything runs tens of times slower.
void check_quick(Report& report) {
  std::mt19937_64 rng(17);
  for (const Shape s : {Shape{200, 2, 1, 128, DType::bf16}, Shape{130, 2, 2, 64, DType::f16},
                        Shape{150, 2, 1, 80, DType::bf16}}) {
    const HostQKV h = host_random(s, 3);
    const auto ref = attention::dense_reference_f64(h.qv(), h.kv(), h.vv(), attention::DenseOptions{});
    DeviceQKV d(s);
    h.upload(d);
    for (const Variant& var : variants_for(s.dim, true)) {
      const auto t0 = std::chrono::steady_clock::now();
      report.add("dense " + var.name + " " + s.describe(), compare(run_gpu(d, var.options, nullptr), s, ref),
                 tolerance(s.dtype), seconds_since(t0));
    }
    std::vector<SparseIndex> index;
    for (int32_t head = 0; head < s.heads_q; ++head) index.push_back(random_index(s.n, 0.3, 0.05, head == 1, rng));
    check_sparse_case(report, "random-index", h, index);
  }
  check_grid_limits(report);
  check_heatmaps(report, true);
  check_gpu_patterns(report, true);
}

}  // namespace

int run_check(const CheckOptions& options) {
  FILE* json = options.json.empty() ? nullptr : std::fopen(options.json.c_str(), "a");
  Report report(json);
  const auto dev = cuda::current_device();
  std::printf("device: %s (sm_%d%d, %d SMs)\n", dev.name.c_str(), dev.major, dev.minor, dev.multiprocessors);
  if (options.quick) {
    check_quick(report);
  } else if (options.estimation) {
    check_estimation(report);
    check_gpu_patterns(report, false);
  } else {
    check_dense_small(report);
    check_sparse_small(report);
    check_vertical_slash_builder(report);
    check_patterns(report);
    check_estimation(report);
    check_gpu_patterns(report, false);
    check_grid_limits(report);
    check_heatmaps(report, false);
    if (options.large) check_large(report);
  }
  std::printf("check: %d of %d passed\n", report.total() - report.failures(), report.total());
  if (json) std::fclose(json);
  return report.failures() == 0 ? 0 : 1;
}

}  // namespace mmi::kernels_tool
