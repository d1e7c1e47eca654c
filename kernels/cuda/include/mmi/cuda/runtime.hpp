// Host-side CUDA plumbing shared by the attention kernels and their callers: checked calls that throw, an owning
// device buffer, device discovery. Nothing here needs a GPU to compile; everything throws mmi::cuda::Error when a
// GPU is absent or a call fails, so callers (the C API) turn it into a status code at their boundary.
//
// Streams: copies given a stream are ordered on it (queued after the work already on it) and return once it has
// finished them, so callers may pass a non-blocking stream. Copies without one (nullptr) use the legacy default
// stream, which orders itself only with blocking streams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct CUstream_st;  // cudaStream_t without pulling the CUDA headers into every includer

namespace mmi::cuda {

using Stream = CUstream_st*;

// What went wrong, for callers that map errors to their own codes: the caller's arguments (a shape, a budget or a
// limit of these kernels: the default), GPU memory, or the device (a failed CUDA call, a missing capability).
enum class ErrorKind : int32_t { InvalidArgument = 0, OutOfMemory = 1, Device = 2 };

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ErrorKind kind = ErrorKind::InvalidArgument)
      : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws Error naming the failed call, file and line when `code` (a cudaError_t) is not cudaSuccess.
void check(int code, const char* what, const char* file, int line);
// Throws Error if the last launch failed (cudaGetLastError).
void check_launch(const char* kernel, const char* file, int line);

#define MMI_CUDA_CHECK(call) ::mmi::cuda::check(static_cast<int>(call), #call, __FILE__, __LINE__)
#define MMI_CUDA_CHECK_LAUNCH(name) ::mmi::cuda::check_launch(name, __FILE__, __LINE__)

struct DeviceInfo {
  int ordinal = -1;
  std::string name;
  int major = 0;
  int minor = 0;
  int multiprocessors = 0;
  size_t shared_per_block_optin = 0;
  size_t l2_bytes = 0;
  size_t global_bytes = 0;
  int driver_version = 0;
  int runtime_version = 0;
};

// Number of usable GPUs; 0 (never an exception) when there is no driver or no device.
int device_count() noexcept;
DeviceInfo current_device();

// Owning device allocation of `count` elements of T. Move-only; frees on destruction.
void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes, Stream stream = nullptr);
void copy_to_host(void* dst, const void* src, size_t bytes, Stream stream = nullptr);
void device_memset(void* dst, int value, size_t bytes);
void synchronize();

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_ > 0) ptr_ = static_cast<T*>(device_alloc(count_ * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host, Stream stream = nullptr) : DeviceBuffer(host.size()) {
    if (count_ > 0) copy_to_device(ptr_, host.data(), count_ * sizeof(T), stream);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      device_free(ptr_);
      ptr_ = std::exchange(other.ptr_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { device_free(ptr_); }

  T* get() const { return ptr_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }
  std::vector<T> download(Stream stream = nullptr) const {
    std::vector<T> host(count_);
    if (count_ > 0) copy_to_host(host.data(), ptr_, bytes(), stream);
    return host;
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

}  // namespace mmi::cuda
