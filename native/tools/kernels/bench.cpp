// `mmi-kernels bench`: times the CUDA kernels with CUDA events (warm-up, median of repeats, inputs rotated when a
// set would fit in L2) and prints TFLOP/s. Dense causal FLOPs = 2*N^2*H*D (the convention of the anchors);
// sparse FLOPs count 4*D per (row, key) pair of the listed tiles, masked pairs included.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include <cmath>
#include <thread>

#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/synthetic.hpp"
#include "mmi/cuda/estimate.hpp"

#include "check.hpp"
#include "inputs.hpp"
#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/index_build.hpp"

namespace mmi::kernels_tool {
namespace {

using cuda::DType;

class Timer {
 public:
  Timer() {
    MMI_CUDA_CHECK(cudaEventCreate(&start_));
    MMI_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  // Median milliseconds of `reps` timed calls after `warmup` untimed ones; fn(i) gets the repetition number so it
  // can rotate inputs.
  double median_ms(const std::function<void(int)>& fn, int warmup, int reps) {
    for (int i = 0; i < warmup; ++i) fn(i);
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
      MMI_CUDA_CHECK(cudaEventRecord(start_));
      fn(i);
      MMI_CUDA_CHECK(cudaEventRecord(stop_));
      MMI_CUDA_CHECK(cudaEventSynchronize(stop_));
      float t = 0.0f;
      MMI_CUDA_CHECK(cudaEventElapsedTime(&t, start_, stop_));
      ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }

 private:
  cudaEvent_t start_{}, stop_{};
};

int reps_for(double flops) { return flops > 2e15 ? 3 : flops > 2e14 ? 5 : 10; }

struct Emitter {
  FILE* json;
  void row(const std::string& kind, const std::string& name, const Shape& s, double ms, double flops,
           const std::string& extra = "") {
    const double tflops = flops / (ms * 1e-3) / 1e12;
    std::printf("%-8s %-46s N=%-8lld Hq=%-3d Hkv=%-3d %10.3f ms %8.1f TFLOP/s %s\n", kind.c_str(), name.c_str(),
                static_cast<long long>(s.n), s.heads_q, s.heads_kv, ms, tflops, extra.c_str());
    std::fflush(stdout);
    if (json) {
      std::fprintf(json,
                   "{\"kind\":\"%s\",\"name\":\"%s\",\"n\":%lld,\"heads_q\":%d,\"heads_kv\":%d,\"dim\":%d,\"ms\":%.4f,"
                   "\"tflops\":%.2f%s}\n",
                   kind.c_str(), name.c_str(), static_cast<long long>(s.n), s.heads_q, s.heads_kv, s.dim, ms, tflops,
                   extra.empty() ? "" : (",\"note\":\"" + extra + "\"").c_str());
      std::fflush(json);
    }
  }
};

// Input sets so that together they exceed 4x L2: each timed call reads a set the previous call did not.
std::vector<std::unique_ptr<DeviceQKV>> input_sets(const Shape& s, size_t l2_bytes, uint64_t seed) {
  const double bytes = 2.0 * static_cast<double>(s.q_elems() + 2 * s.kv_elems());
  const int count = std::clamp(static_cast<int>(4.0 * static_cast<double>(l2_bytes) / bytes) + 1, 1, 4);
  std::vector<std::unique_ptr<DeviceQKV>> sets;
  for (int i = 0; i < count; ++i) {
    sets.push_back(std::make_unique<DeviceQKV>(s));
    sets.back()->fill_random(seed + i);
  }
  return sets;
}

void bench_dense(const BenchOptions& o, Emitter& out, Timer& timer, const cuda::DeviceInfo& dev) {
  const bool hopper = dev.major == 9;
  for (const int64_t n : o.dense_sizes) {
    for (const int32_t hkv : {4, 28}) {
      const Shape s{n, 28, hkv, 128, DType::bf16};
      if (hkv == 28 && n != 131072) continue;  // MHA once, for the comparison with the MHA baselines
      auto sets = input_sets(s, dev.l2_bytes, 17);
      const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * 28.0 * 128.0;
      const int reps = reps_for(flops);
      auto run = [&](int i, const cuda::KernelOptions& k) {
        cuda::attention_dense_causal(s.attention(), sets[static_cast<size_t>(i) % sets.size()]->tensors(), nullptr, k);
      };
      if (hopper) {
        struct V {
          const char* name;
          cuda::KernelOptions k;
        };
        for (const V& v : {V{"hopper tma pingpong", {cuda::Backend::Hopper, true, true}},
                           V{"hopper tma", {cuda::Backend::Hopper, false, true}}}) {
          const double ms = timer.median_ms([&](int i) { run(i, v.k); }, 1, reps);
          out.row("dense", v.name, s, ms, flops);
        }
      }
      if (n <= 32768 || !hopper) {
        const double ms = timer.median_ms([&](int i) { run(i, {cuda::Backend::Portable, false, false}); }, 1, reps);
        out.row("dense", "portable-mma", s, ms, flops);
      }
    }
  }
}

// (row, key) pairs of the listed tiles: 64 rows per query block (fewer in the last) times its keys.
double index_pairs(const cuda::DeviceIndex& index) {
  const auto boff = index.block_offsets.download();
  const auto coff = index.column_offsets.download();
  const int64_t n = index.n(), nb = num_blocks(n);
  double pairs = 0.0;
  for (int64_t h = 0; h < index.heads(); ++h) {
    for (int64_t i = 0; i < nb; ++i) {
      const int64_t rows = std::min<int64_t>(64, n - i * 64);
      const int64_t e = h * nb + i;
      pairs += static_cast<double>(rows) *
               static_cast<double>((boff[e + 1] - boff[e]) * 64 + (coff[e + 1] - coff[e]));
    }
  }
  return pairs;
}

void bench_sparse(const BenchOptions& o, Emitter& out, Timer& timer, const cuda::DeviceInfo& dev) {
  const bool hopper = dev.major == 9;
  for (const int64_t n : o.sparse_sizes) {
    const Shape s{n, 28, 4, 128, DType::bf16};
    auto sets = input_sets(s, dev.l2_bytes, 29);
    const int32_t vc = 1000, sc = 6096;
    std::vector<int32_t> vert(static_cast<size_t>(s.heads_q) * vc), slash(static_cast<size_t>(s.heads_q) * sc);
    for (int32_t h = 0; h < s.heads_q; ++h) {
      for (int32_t j = 0; j < vc; ++j) vert[static_cast<size_t>(h) * vc + j] = j;
      for (int32_t j = 0; j < sc; ++j) slash[static_cast<size_t>(h) * sc + j] = j;
    }
    cuda::DeviceBuffer<int32_t> dv(vert), ds(slash);
    std::unique_ptr<cuda::DeviceIndex> index;
    const double build_ms = timer.median_ms(
        [&](int) {
          index = std::make_unique<cuda::DeviceIndex>(cuda::vertical_slash_index(n, s.heads_q, dv.get(), vc, ds.get(), sc));
        },
        1, 3);
    const double pairs = index_pairs(*index);
    const double flops = 4.0 * 128.0 * pairs;
    const double dense_pairs = 28.0 * static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
    char note[96];
    std::snprintf(note, sizeof note, "density %.4f, index build %.2f ms", pairs / dense_pairs, build_ms);
    const auto view = index->view();
    auto run = [&](int i, const cuda::KernelOptions& k) {
      cuda::attention_sparse(s.attention(), sets[static_cast<size_t>(i) % sets.size()]->tensors(), view, nullptr, k);
    };
    const int reps = reps_for(flops) + 2;
    struct V {
      const char* name;
      cuda::KernelOptions k;
    };
    std::vector<V> variants;
    if (hopper) {
      variants.push_back({"vs-fixed hopper tma pingpong", {cuda::Backend::Hopper, true, true}});
      variants.push_back({"vs-fixed hopper tma", {cuda::Backend::Hopper, false, true}});
      if (n == 262144) variants.push_back({"vs-fixed hopper cp.async", {cuda::Backend::Hopper, false, false}});
    }
    if (n == 262144 || !hopper) variants.push_back({"vs-fixed portable-mma", {cuda::Backend::Portable, false, false}});
    for (const V& v : variants) {
      const double ms = timer.median_ms([&](int i) { run(i, v.k); }, 1, reps);
      out.row("sparse", v.name, s, ms, flops, note);
    }
  }
}

// The CPU core's synthetic video benchmark (system prompt, one video run of 16x24-token patches, question), 28/4
// heads: four kv groups generated in parallel with their own seeds.
HostQKV synthetic_video(int64_t n, const attention::ModalityLayout& layout) {
  const Shape s{n, 28, 4, 128, DType::bf16};
  HostQKV h;
  h.shape = s;
  h.q.resize(static_cast<size_t>(s.q_elems()));
  h.k.resize(static_cast<size_t>(s.kv_elems()));
  h.v.resize(static_cast<size_t>(s.kv_elems()));
  std::vector<std::thread> pool;
  for (int g = 0; g < 4; ++g) {
    pool.emplace_back([&, g] {
      attention::SyntheticSpec spec;
      spec.layout = layout;
      spec.heads_q = 7;
      spec.heads_kv = 1;
      spec.dim = 128;
      spec.seed = 1000 + g;
      const attention::QKV x = attention::synthetic_qkv(spec);
      const size_t head = static_cast<size_t>(n) * 128;
      for (size_t i = 0; i < x.q.size(); ++i) h.q[g * 7 * head + i] = to_bits(x.q[i], DType::bf16);
      for (size_t i = 0; i < x.k.size(); ++i) h.k[g * head + i] = to_bits(x.k[i], DType::bf16);
      for (size_t i = 0; i < x.v.size(); ++i) h.v[g * head + i] = to_bits(x.v[i], DType::bf16);
    });
  }
  for (auto& t : pool) t.join();
  return h;
}

// Mean recall over all heads on sampled rows (CPU core, float64), heads in parallel.
double mean_recall(const HostQKV& h, const cuda::DeviceIndex& index, int rows_per_head) {
  const auto rows = attention::sample_rows(h.shape.n, rows_per_head);
  std::vector<SparseIndex> heads;
  for (int32_t x = 0; x < h.shape.heads_q; ++x) heads.push_back(index.download_head(x));
  std::vector<double> r(static_cast<size_t>(h.shape.heads_q));
  std::vector<std::thread> pool;
  for (int32_t x = 0; x < h.shape.heads_q; ++x) {
    pool.emplace_back([&, x] { r[static_cast<size_t>(x)] = attention::recall(h.qv(), h.kv(), x, heads[x], rows); });
  }
  for (auto& t : pool) t.join();
  double sum = 0.0, worst = 1.0;
  for (const double v : r) {
    sum += v;
    worst = std::min(worst, v);
  }
  std::printf("         recall per head: min %.4f mean %.4f\n", worst, sum / static_cast<double>(r.size()));
  return sum / static_cast<double>(r.size());
}

// Grid pattern on the synthetic video benchmark, everything included: estimation (last rows' mass, stride and
// phase choice), permutation and index build, and the kernel (which gathers through the permutation).
void bench_grid(Emitter& out, Timer& timer, int64_t n) {
  const attention::ModalityLayout layout = attention::synthetic_video_layout(n, 16, 24);
  const HostQKV h = synthetic_video(n, layout);
  DeviceQKV d(h.shape);
  h.upload(d);
  std::vector<cuda::VideoRunSpec> runs;
  for (const auto& r : layout.video_runs()) runs.push_back({r.start, r.length(), r.period()});
  const auto shape = h.shape.attention();
  for (const int64_t local : {int64_t{1024}, int64_t{4096}}) {
    std::vector<std::vector<cuda::GridRunChoice>> choices;
    std::unique_ptr<cuda::DeviceIndex> index;
    const double est_ms =
        timer.median_ms([&](int) { choices = cuda::estimate_grid(shape, d.q.get(), d.k.get(), runs, 4); }, 1, 3);
    const double idx_ms = timer.median_ms(
        [&](int) { index = std::make_unique<cuda::DeviceIndex>(cuda::grid_index(n, choices, 128, local)); }, 1, 3);
    const auto view = index->view();
    double best = 1e30;
    for (const bool pp : {true, false}) {
      best = std::min(best, timer.median_ms(
                                [&](int) {
                                  cuda::attention_sparse(shape, d.tensors(), view, nullptr,
                                                         {cuda::Backend::Hopper, pp, true});
                                },
                                1, 5));
    }
    const double pairs = index_pairs(*index);
    const double density = pairs / (28.0 * static_cast<double>(n) * (n + 1) / 2.0);
    int matching = 0;
    for (const auto& hc : choices) matching += hc.front().stride == runs.front().period ? 1 : 0;
    const double rec = mean_recall(h, *index, 8);
    char note[200];
    std::snprintf(note, sizeof note,
                  "all included: estimation %.2f + index %.2f + kernel %.2f ms; density %.4f; recall %.4f; "
                  "sinks 128, local %lld, 4 lines; %d/28 heads chose the layout period",
                  est_ms, idx_ms, best, density, rec, static_cast<long long>(local), matching);
    out.row("grid", "grid-video hopper all-included local=" + std::to_string(local), h.shape, est_ms + idx_ms + best,
            4.0 * 128.0 * pairs, note);
  }
  // Vertical-slash on the same prompt, estimated on the GPU with the budgets of the structure.
  std::unique_ptr<cuda::DeviceIndex> vs;
  const double est_ms = timer.median_ms(
      [&](int) {
        vs = std::make_unique<cuda::DeviceIndex>(cuda::estimate_vertical_slash(shape, d.q.get(), d.k.get(), 1000, 6096));
      },
      1, 3);
  const auto view = vs->view();
  double best = 1e30;
  for (const bool pp : {true, false}) {
    best = std::min(best, timer.median_ms(
                              [&](int) {
                                cuda::attention_sparse(shape, d.tensors(), view, nullptr, {cuda::Backend::Hopper, pp, true});
                              },
                              1, 5));
  }
  const double pairs = index_pairs(*vs);
  const double rec = mean_recall(h, *vs, 8);
  char note[200];
  std::snprintf(note, sizeof note,
                "estimation %.2f ms = %.1f%% of estimation + kernel; density %.4f; recall %.4f", est_ms,
                100.0 * est_ms / (est_ms + best), pairs / (28.0 * static_cast<double>(n) * (n + 1) / 2.0), rec);
  out.row("sparse", "vs-estimated(1000,6096) video hopper", h.shape, est_ms + best, 4.0 * 128.0 * pairs, note);
}

// Block-sparse, Q-boundary and 2D-boundary on a mixed-modality prompt of the synthetic generator (text and three
// videos of 16x24-token patches interleaved: six modality switches), everything included: the GPU estimation and
// index, then the sparse kernel; TFLOP/s on the kept tiles, the estimation's share, recall on sampled rows, and our
// dense kernel on the same inputs in the same call.
void bench_patterns(Emitter& out, Timer& timer, int64_t n) {
  using attention::Segment;
  const int64_t per = 16 * 24, text = 1024;
  const int64_t patches = (n - text) / per;
  const int64_t a = patches * 30 / 100, b = patches * 37 / 100, c = patches - a - b;
  const int64_t last = n - text - patches * per + 96;  // the question and what the patches leave over
  const std::vector<Segment> segs = {Segment::text(200),        Segment::video(a, 16, 24), Segment::text(300),
                                     Segment::video(b, 16, 24), Segment::text(428),        Segment::video(c, 16, 24),
                                     Segment::text(last)};
  const attention::ModalityLayout layout = attention::ModalityLayout::make(segs, n);
  const HostQKV h = synthetic_video(n, layout);
  DeviceQKV d(h.shape);
  h.upload(d);
  const auto shape = h.shape.attention();
  const double dense_flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * 28.0 * 128.0;
  const double dense_ms = timer.median_ms(
      [&](int) { cuda::attention_dense_causal(shape, d.tensors(), nullptr, {cuda::Backend::Hopper, true, true}); }, 1, 3);
  out.row("dense", "hopper tma pingpong mixed-3-videos", h.shape, dense_ms, dense_flops);
  std::vector<cuda::ModalitySpan> spans;
  for (size_t i = 0; i < segs.size(); ++i) {
    spans.push_back({layout.starts()[i], layout.starts()[i + 1] - layout.starts()[i],
                     segs[i].modality == attention::Modality::video});
  }
  const cuda::VerticalSlashBudget vs{1000, 6096};
  struct Case {
    std::string name;
    std::function<cuda::DeviceIndex()> estimate;
  };
  const int64_t nb = num_blocks(n);
  std::unique_ptr<cuda::ModalityOrder> order;
  const double order_ms = timer.median_ms([&](int) { order = std::make_unique<cuda::ModalityOrder>(n, spans); }, 0, 3);
  const std::vector<Case> cases = {
      {"block-sparse top " + std::to_string(nb / 32),
       [&] { return cuda::estimate_block_sparse(shape, d.q.get(), d.k.get(), nb / 32); }},
      {"block-sparse top " + std::to_string(nb / 16),
       [&] { return cuda::estimate_block_sparse(shape, d.q.get(), d.k.get(), nb / 16); }},
      {"q-boundary (1000,6096) x2", [&] { return cuda::estimate_q_boundary(shape, d.q.get(), d.k.get(), *order, vs, vs); }},
      {"2d-boundary (1000,6096) x4",
       [&] { return cuda::estimate_2d_boundary(shape, d.q.get(), d.k.get(), *order, {vs, vs, vs, vs}); }},
  };
  for (const Case& c : cases) {
    std::unique_ptr<cuda::DeviceIndex> index;
    const double est_ms = timer.median_ms([&](int) { index = std::make_unique<cuda::DeviceIndex>(c.estimate()); }, 1, 3);
    const auto view = index->view();
    double best = 1e30;
    for (const bool pp : {true, false}) {
      best = std::min(best, timer.median_ms(
                                [&](int) {
                                  cuda::attention_sparse(shape, d.tensors(), view, nullptr,
                                                         {cuda::Backend::Hopper, pp, true});
                                },
                                1, 5));
    }
    const double pairs = index_pairs(*index);
    const double density = pairs / (28.0 * static_cast<double>(n) * (n + 1) / 2.0);
    const double rec = mean_recall(h, *index, 8);
    const double kernel_tflops = 4.0 * 128.0 * pairs / (best * 1e-3) / 1e12;
    char note[260];
    std::snprintf(note, sizeof note,
                  "all included: estimation+index %.2f ms (%.1f%%) + kernel %.2f ms (%.1f TFLOP/s on kept tiles); "
                  "density %.4f; recall %.4f; vs our dense %.2fx; modality order %.2f ms once per prompt",
                  est_ms, 100.0 * est_ms / (est_ms + best), best, kernel_tflops, density, rec,
                  dense_ms / (est_ms + best), order_ms);
    out.row("pattern", c.name + " mixed-3-videos hopper all-included", h.shape, est_ms + best, 4.0 * 128.0 * pairs,
            note);
  }
}

}  // namespace

int run_bench(const BenchOptions& options) {
  FILE* json = options.json.empty() ? nullptr : std::fopen(options.json.c_str(), "a");
  Emitter out{json};
  Timer timer;
  const auto dev = cuda::current_device();
  std::printf("device: %s (sm_%d%d, %d SMs, L2 %zu MB), driver %d, runtime %d\n", dev.name.c_str(), dev.major,
              dev.minor, dev.multiprocessors, dev.l2_bytes >> 20, dev.driver_version, dev.runtime_version);
  if (!options.dense_sizes.empty()) bench_dense(options, out, timer, dev);
  if (!options.sparse_sizes.empty()) {
    bench_sparse(options, out, timer, dev);
  }
  if (options.grid_size > 0) bench_grid(out, timer, options.grid_size);
  if (options.patterns_size > 0) bench_patterns(out, timer, options.patterns_size);
  if (json) std::fclose(json);
  return 0;
}

}  // namespace mmi::kernels_tool
