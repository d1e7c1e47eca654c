// Shared pieces of the GPU tests: the skip rule (no GPU: say why and exit 77, which ctest reports as skipped, never
// as passed), device buffers filled from host vectors, bf16 rounding and the error measure.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "mmi/ops/half.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/cuda/gemm.hpp"

namespace gpu_test {

namespace rc = mmi::runtime::cuda;

inline constexpr int kSkip = 77;

// Empty when the GPU tests can run here; else why not.
inline std::string why_not_runnable() {
  std::string why;
  if (rc::gpu_count(&why) == 0) return why;
  if (!rc::cublaslt_available(&why)) return why;
  return {};
}

template <typename T>
struct Device {
  rc::DeviceMemory memory;
  std::size_t count = 0;
  Device() = default;
  explicit Device(std::size_t n) : memory(n * sizeof(T), "test buffer"), count(n) {
    // Poison: every output a test reads must have been written.
    MMI_GPU_CHECK(cudaMemset(memory.get(), 0xFF, n * sizeof(T)));
  }
  explicit Device(const std::vector<T>& host) : Device(host.size()) {
    MMI_GPU_CHECK(cudaMemcpy(memory.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  T* get() const { return memory.as<T>(); }
  std::vector<T> host() const {
    MMI_GPU_CHECK(cudaDeviceSynchronize());
    std::vector<T> out(count);
    MMI_GPU_CHECK(cudaMemcpy(out.data(), memory.get(), count * sizeof(T), cudaMemcpyDeviceToHost));
    return out;
  }
};

inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<std::uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<std::uint16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = mmi::ops::f32_to_bf16(v[i]);
  return out;
}

inline std::vector<float> from_bf16(const std::vector<std::uint16_t>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = mmi::ops::bf16_to_f32(v[i]);
  return out;
}

// Values as bf16 holds them (so references see exactly the GPU's inputs).
inline std::vector<float> rounded(const std::vector<float>& v) { return from_bf16(to_bf16(v)); }

// max |a - b| / max |b|; infinity on a size mismatch or a non-finite value in a.
template <typename A, typename B>
double rel_error(const std::vector<A>& a, const std::vector<B>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0.0, mag = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(static_cast<double>(a[i]))) return INFINITY;
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    mag = std::max(mag, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(mag, 1e-30);
}

}  // namespace gpu_test

// main() of a GPU test: runs the cases, or reports the skip and why.
#define GPU_TEST_MAIN                                                      \
  int main(int argc, char** argv) {                                        \
    const std::string why = gpu_test::why_not_runnable();                  \
    if (!why.empty()) {                                                    \
      std::printf("SKIPPED: no GPU backend here: %s\n", why.c_str());      \
      return gpu_test::kSkip;                                              \
    }                                                                      \
    std::printf("GPU: %s\n", mmi::runtime::cuda::device_description().c_str()); \
    return check::run(argc, argv);                                         \
  }
