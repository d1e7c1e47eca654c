// Device plumbing for the GPU backend of the engine runtime: checked CUDA calls that raise typed errors, owning
// device and pinned host allocations, streams and events, and the device's memory as the memory plan sees it.
// Nothing here needs a GPU to compile; without one, gpu_count() is 0 and everything else raises
// Error(DeviceUnavailable).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace mmi::runtime::cuda {

// Raises Error(DeviceError) naming the call, file and line when code is not cudaSuccess (out-of-memory results
// raise Error(OutOfMemory)).
void check(cudaError_t code, const char* what, const char* file, int line);
// Raises Error(DeviceError) when the last kernel launch failed.
void check_launch(const char* kernel, const char* file, int line);

#define MMI_GPU_CHECK(call) ::mmi::runtime::cuda::check((call), #call, __FILE__, __LINE__)
#define MMI_GPU_CHECK_LAUNCH(name) ::mmi::runtime::cuda::check_launch((name), __FILE__, __LINE__)

// Usable GPUs; 0 (never an exception) without a driver or device. why (optional) receives the reason.
int gpu_count(std::string* why = nullptr) noexcept;

struct DeviceMemoryInfo {
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};
DeviceMemoryInfo memory_info();
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
std::string device_description();

// Peak of the device memory in use (total - free) over the samples taken so far in this process.
void sample_memory_use();
std::uint64_t peak_memory_use();
void reset_peak_memory_use();

// An owning device allocation. Failure raises Error(OutOfMemory) with the size asked for and the free memory.
class DeviceMemory {
 public:
  DeviceMemory() = default;
  DeviceMemory(std::size_t bytes, const std::string& what);
  DeviceMemory(DeviceMemory&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceMemory& operator=(DeviceMemory&& other) noexcept;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory();

  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// One allocation carved into aligned pieces: the per-call buffers of a forward pass come from one of these, so
// the memory plan's numbers are what is allocated and nothing is allocated in the middle of a pass.
class Arena {
 public:
  static constexpr std::size_t kAlign = 256;
  static std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

  Arena() = default;
  Arena(std::size_t bytes, const std::string& what) : memory_(bytes, what) {}

  template <typename T>
  T* take(std::size_t count) {
    return static_cast<T*>(take_bytes(count * sizeof(T)));
  }
  void* take_bytes(std::size_t bytes);
  std::size_t used() const { return used_; }
  // Gives back everything taken after `used` (a value used() returned earlier), for reuse.
  void release_to(std::size_t used) { used_ = used < used_ ? used : used_; }
  std::size_t capacity() const { return memory_.bytes(); }

 private:
  DeviceMemory memory_;
  std::size_t used_ = 0;
};

// Page-locked host memory (fast, asynchronous copies).
class PinnedMemory {
 public:
  PinnedMemory() = default;
  explicit PinnedMemory(std::size_t bytes);
  PinnedMemory(PinnedMemory&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  PinnedMemory& operator=(PinnedMemory&& other) noexcept;
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  ~PinnedMemory();

  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

class Stream {
 public:
  Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();
  cudaStream_t get() const { return stream_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
};

// Device-side timing of a region of a stream.
class Event {
 public:
  Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();
  void record(cudaStream_t stream);
  void synchronize() const;  // waits until the work before the record is done
  // Milliseconds from start to this event (both recorded; waits for this one).
  float since(const Event& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);
void copy_to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);  // synchronises the stream

}  // namespace mmi::runtime::cuda
