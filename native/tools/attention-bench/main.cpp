// mmi-attn-bench: the CPU attention core on the synthetic video benchmark. For each pattern: estimation time,
// sparse attention time, mean density and recall over heads (recall on sampled rows, exact float64 softmax), next
// to dense attention's time. Prints a Markdown table.
//   mmi-attn-bench [--tokens 8192] [--heads 8] [--kv-heads 2] [--dim 128] [--h 16] [--w 24] [--threads 0]
//                  [--samples 256] [--seed 1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/attention/synthetic.hpp"

using namespace mmi::attention;

namespace {

struct Args {
  int64_t tokens = 8192, heads = 8, kv_heads = 2, dim = 128, h = 16, w = 24, samples = 256, seed = 1;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || i + 1 >= argc) {
      std::fprintf(stderr,
                   "usage: mmi-attn-bench [--tokens N] [--heads H] [--kv-heads H] [--dim D] [--h H] [--w W] "
                   "[--threads T] [--samples S] [--seed S]\n");
      std::exit(flag == "--help" ? 0 : 2);
    }
    const int64_t value = std::strtoll(argv[++i], nullptr, 10);
    if (flag == "--tokens") a.tokens = value;
    else if (flag == "--heads") a.heads = value;
    else if (flag == "--kv-heads") a.kv_heads = value;
    else if (flag == "--dim") a.dim = value;
    else if (flag == "--h") a.h = value;
    else if (flag == "--w") a.w = value;
    else if (flag == "--threads") a.threads = static_cast<int>(value);
    else if (flag == "--samples") a.samples = value;
    else if (flag == "--seed") a.seed = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return a;
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Budgets for ~8K tokens (the defaults are MInference's, for 128K and beyond); scaled with N.
std::vector<std::pair<std::string, PatternConfig>> patterns(int64_t n) {
  const auto scaled = [n](int64_t at_8k) { return std::max<int64_t>(1, at_8k * n / 8192); };
  std::vector<std::pair<std::string, PatternConfig>> out;
  PatternConfig c;
  c.pattern = Pattern::a_shape;
  c.sink_tokens = 128;
  c.local_tokens = scaled(1024);
  out.emplace_back("a_shape (sink 128, local " + std::to_string(c.local_tokens) + ")", c);
  c = {};
  c.pattern = Pattern::vertical_slash;
  c.vertical_slash = {scaled(128), scaled(256)};
  out.emplace_back("vertical_slash (v " + std::to_string(c.vertical_slash.vertical) + ", s " +
                       std::to_string(c.vertical_slash.slash) + ")",
                   c);
  c = {};
  c.pattern = Pattern::block_sparse;
  c.top_k_blocks = scaled(16);
  out.emplace_back("block_sparse (top " + std::to_string(c.top_k_blocks) + " blocks)", c);
  c = {};
  c.pattern = Pattern::grid;
  c.sink_tokens = 128;
  c.local_tokens = scaled(512);
  c.grid_lines = 8;
  out.emplace_back("grid (sink 128, local " + std::to_string(c.local_tokens) + ", 8 lines)", c);
  c = {};
  c.pattern = Pattern::q_boundary;
  c.text_rows = c.video_rows = {scaled(128), scaled(256)};
  out.emplace_back("q_boundary (v " + std::to_string(c.text_rows.vertical) + ", s " + std::to_string(c.text_rows.slash) +
                       " per group)",
                   c);
  c = {};
  c.pattern = Pattern::two_d_boundary;
  c.text_to_text = {32, scaled(128)};
  c.text_to_video = {scaled(128), scaled(128)};
  c.video_to_text = {32, 64};
  c.video_to_video = {scaled(128), scaled(256)};
  const auto budget = [](const VerticalSlashBudget& b) {
    return std::to_string(b.vertical) + "/" + std::to_string(b.slash);
  };
  out.emplace_back("two_d_boundary (v/s tt " + budget(c.text_to_text) + ", tv " + budget(c.text_to_video) + ", vt " +
                       budget(c.video_to_text) + ", vv " + budget(c.video_to_video) + ")",
                   c);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    const ModalityLayout layout = synthetic_video_layout(a.tokens, a.h, a.w);
    RunControl control;
    control.threads = a.threads;
    const QKV in = synthetic_qkv({layout, a.heads, a.kv_heads, a.dim, static_cast<uint64_t>(a.seed), 4}, control);
    std::printf("synthetic video benchmark: N = %lld (", static_cast<long long>(a.tokens));
    for (const Segment& s : layout.segments()) {
      if (s.modality == Modality::text) std::printf(" text %lld", static_cast<long long>(s.tokens));
      else std::printf(" video %lldx%lldx%lld", static_cast<long long>(s.t), static_cast<long long>(s.h), static_cast<long long>(s.w));
    }
    std::printf(" ), %lld q heads / %lld kv heads, head dim %lld, fp32, causal, %d threads (0 = all), recall on %lld rows\n\n",
                static_cast<long long>(a.heads), static_cast<long long>(a.kv_heads), static_cast<long long>(a.dim),
                a.threads, static_cast<long long>(a.samples));

    std::vector<float> dense_out(in.q.size()), sparse_out(in.q.size());
    const OutputView o{dense_out.data(), a.heads, a.tokens, a.dim, 0, 0};
    const double dense_s = seconds([&] { dense_attention(in.qv(), in.kv(), in.vv(), o, {}, control); });

    std::vector<int64_t> heads(static_cast<size_t>(a.heads));
    for (int64_t h = 0; h < a.heads; ++h) heads[static_cast<size_t>(h)] = h;
    HeatmapOptions recall_options;
    recall_options.samples = a.samples;
    recall_options.grid = 1;

    std::printf("| pattern (budgets) | density | recall | estimate (s) | sparse (s) | dense (s) | dense / (estimate + sparse) |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    std::printf("| dense | 1.000 | 1.000 | - | - | %.3f | 1.00 |\n", dense_s);
    for (const auto& [name, config] : patterns(a.tokens)) {
      std::vector<HeadEstimate> est;
      const double estimate_s =
          seconds([&] { est = estimate_heads(in.qv(), in.kv(), layout, std::span(&config, 1), 0.0f, control); });
      std::vector<mmi::SparseIndex> index;
      for (auto& e : est) index.push_back(std::move(e.index));
      const OutputView so{sparse_out.data(), a.heads, a.tokens, a.dim, 0, 0};
      SparseOptions sparse_options;
      sparse_options.check_finite = false;  // checked by the estimation already
      const double sparse_s =
          seconds([&] { sparse_attention(in.qv(), in.kv(), in.vv(), index, so, sparse_options, control); });
      double dens = 0.0, rec = 0.0;
      for (const auto& i : index) dens += density(i).value() / static_cast<double>(a.heads);
      for (const Heatmap& m : heatmaps(in.qv(), in.kv(), index, heads, recall_options, control)) {
        rec += m.recall / static_cast<double>(a.heads);
      }
      std::printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", name.c_str(), dens, rec, estimate_s, sparse_s,
                  dense_s, dense_s / (estimate_s + sparse_s));
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "mmi-attn-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
