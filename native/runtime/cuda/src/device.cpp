#include "mmi/runtime/cuda/device.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "mmi/runtime/errors.hpp"

namespace mmi::runtime::cuda {

namespace {

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / double(1ull << 30));
  return buf;
}

std::atomic<std::uint64_t> g_peak{0};

}  // namespace

void check(cudaError_t code, const char* what, const char* file, int line) {
  if (code == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so later calls are not blamed for it
  const std::string detail = std::string(cudaGetErrorName(code)) + " (" + cudaGetErrorString(code) + ") in " + what +
                             " at " + file + ":" + std::to_string(line);
  if (code == cudaErrorMemoryAllocation) throw Error(ErrorCode::OutOfMemory, "", "gpu", detail);
  if (code == cudaErrorNoDevice || code == cudaErrorInsufficientDriver) {
    throw Error(ErrorCode::DeviceUnavailable, "", "gpu", detail);
  }
  throw Error(ErrorCode::DeviceError, "", "gpu", detail);
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return;
  throw Error(ErrorCode::DeviceError, "", "gpu",
              std::string("launch of ") + kernel + " failed: " + cudaGetErrorName(err) + " (" +
                  cudaGetErrorString(err) + ") at " + file + ":" + std::to_string(line));
}

int gpu_count(std::string* why) noexcept {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string("no usable GPU: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return 0;
  }
  if (count == 0 && why) *why = "no GPU found";
  return count;
}

DeviceMemoryInfo memory_info() {
  std::size_t free = 0, total = 0;
  MMI_GPU_CHECK(cudaMemGetInfo(&free, &total));
  return {free, total};
}

std::string device_description() {
  int device = 0;
  MMI_GPU_CHECK(cudaGetDevice(&device));
  cudaDeviceProp p{};
  MMI_GPU_CHECK(cudaGetDeviceProperties(&p, device));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.multiProcessorCount) + " SMs, " + gib(p.totalGlobalMem) + ")";
}

void sample_memory_use() {
  const DeviceMemoryInfo m = memory_info();
  const std::uint64_t used = m.total - m.free;
  std::uint64_t prev = g_peak.load();
  while (used > prev && !g_peak.compare_exchange_weak(prev, used)) {
  }
}

std::uint64_t peak_memory_use() { return g_peak.load(); }
void reset_peak_memory_use() { g_peak.store(0); }

DeviceMemory::DeviceMemory(std::size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t err = cudaMalloc(&ptr_, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    ptr_ = nullptr;
    std::size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    throw Error(err == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::DeviceError, "", what,
                "cannot allocate " + gib(bytes) + " on the GPU (" + gib(free) + " free of " + gib(total) + "): " +
                    cudaGetErrorString(err));
  }
  sample_memory_use();
}

DeviceMemory& DeviceMemory::operator=(DeviceMemory&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DeviceMemory::~DeviceMemory() {
  if (ptr_) cudaFree(ptr_);
}

void* Arena::take_bytes(std::size_t bytes) {
  const std::size_t size = aligned(bytes);
  if (used_ + size > memory_.bytes()) {
    throw Error(ErrorCode::Internal, "", "gpu arena",
                "memory plan too small: " + std::to_string(used_ + size) + " bytes needed, " +
                    std::to_string(memory_.bytes()) + " planned");
  }
  void* p = static_cast<char*>(memory_.get()) + used_;
  used_ += size;
  return p;
}

PinnedMemory::PinnedMemory(std::size_t bytes) : bytes_(bytes) {
  if (bytes > 0) MMI_GPU_CHECK(cudaMallocHost(&ptr_, bytes));
}

PinnedMemory& PinnedMemory::operator=(PinnedMemory&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

PinnedMemory::~PinnedMemory() {
  if (ptr_) cudaFreeHost(ptr_);
}

// A blocking stream: work issued on the legacy default stream (synchronous cudaMemcpy inside libraries we call,
// such as the attention core's index builders) stays ordered with ours.
Stream::Stream() { MMI_GPU_CHECK(cudaStreamCreate(&stream_)); }
Stream::~Stream() {
  if (stream_) cudaStreamDestroy(stream_);
}
void Stream::synchronize() const { MMI_GPU_CHECK(cudaStreamSynchronize(stream_)); }

Event::Event() { MMI_GPU_CHECK(cudaEventCreate(&event_)); }
Event::~Event() {
  if (event_) cudaEventDestroy(event_);
}
void Event::record(cudaStream_t stream) { MMI_GPU_CHECK(cudaEventRecord(event_, stream)); }
void Event::synchronize() const { MMI_GPU_CHECK(cudaEventSynchronize(event_)); }
float Event::since(const Event& start) const {
  MMI_GPU_CHECK(cudaEventSynchronize(event_));
  float ms = 0.0f;
  MMI_GPU_CHECK(cudaEventElapsedTime(&ms, start.event_, event_));
  return ms;
}

void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes > 0) MMI_GPU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes > 0) MMI_GPU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace mmi::runtime::cuda
