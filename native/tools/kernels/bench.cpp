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
        for (const bool pp : {true, false}) {
          const double ms = timer.median_ms([&](int i) { run(i, {cuda::Backend::Hopper, pp}); }, 1, reps);
          out.row("dense", pp ? "hopper-wgmma pingpong" : "hopper-wgmma no-pingpong", s, ms, flops);
        }
      }
      if (n <= 65536 || !hopper) {
        const double ms = timer.median_ms([&](int i) { run(i, {cuda::Backend::Portable, false}); }, 1, reps);
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
    auto run = [&](int i, bool use_hopper, bool pp) {
      cuda::attention_sparse(s.attention(), sets[static_cast<size_t>(i) % sets.size()]->tensors(), view, nullptr,
                             {use_hopper ? cuda::Backend::Hopper : cuda::Backend::Portable, pp});
    };
    const int reps = reps_for(flops) + 2;
    if (hopper) {
      for (const bool pp : {true, false}) {
        const double ms = timer.median_ms([&](int i) { run(i, true, pp); }, 1, reps);
        out.row("sparse", std::string("vs-fixed hopper-wgmma") + (pp ? " pingpong" : " no-pingpong"), s, ms, flops,
                note);
      }
    }
    if (n <= 262144 || !hopper) {
      const double ms = timer.median_ms([&](int i) { run(i, false, false); }, 1, reps);
      out.row("sparse", "vs-fixed portable-mma", s, ms, flops, note);
    }
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
  bench_dense(options, out, timer, dev);
  bench_sparse(options, out, timer, dev);
  if (json) std::fclose(json);
  return 0;
}

}  // namespace mmi::kernels_tool
