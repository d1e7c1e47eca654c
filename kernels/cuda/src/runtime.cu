#include "mmi/cuda/runtime.hpp"

#include <cuda_runtime.h>

#include <string>

namespace mmi::cuda {

void check(int code, const char* what, const char* file, int line) {
  if (code == cudaSuccess) return;
  const auto err = static_cast<cudaError_t>(code);
  throw Error(std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ") in " + what +
                  " at " + file + ":" + std::to_string(line),
              err == cudaErrorMemoryAllocation ? ErrorKind::OutOfMemory : ErrorKind::Device);
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return;
  throw Error(std::string("CUDA launch of ") + kernel + " failed: " + cudaGetErrorName(err) + " (" +
                  cudaGetErrorString(err) + ") at " + file + ":" + std::to_string(line),
              ErrorKind::Device);
}

int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" state
    return 0;
  }
  return count;
}

DeviceInfo current_device() {
  DeviceInfo info;
  MMI_CUDA_CHECK(cudaGetDevice(&info.ordinal));
  cudaDeviceProp prop{};
  MMI_CUDA_CHECK(cudaGetDeviceProperties(&prop, info.ordinal));
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.shared_per_block_optin = prop.sharedMemPerBlockOptin;
  info.l2_bytes = static_cast<size_t>(prop.l2CacheSize);
  info.global_bytes = prop.totalGlobalMem;
  MMI_CUDA_CHECK(cudaDriverGetVersion(&info.driver_version));
  MMI_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));
  return info;
}

void* device_alloc(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Error("cannot allocate " + std::to_string(bytes) + " bytes on the GPU: " + cudaGetErrorString(err),
                err == cudaErrorMemoryAllocation ? ErrorKind::OutOfMemory : ErrorKind::Device);
  }
  return ptr;
}

void device_free(void* ptr) noexcept {
  if (ptr) cudaFree(ptr);
}

namespace {

void copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, Stream stream) {
  if (stream == nullptr) {
    MMI_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
    return;
  }
  // Pageable host memory: the copy is queued on the stream, and the wait makes it complete before the host buffer
  // can go away or be read.
  MMI_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace

void copy_to_device(void* dst, const void* src, size_t bytes, Stream stream) {
  copy(dst, src, bytes, cudaMemcpyHostToDevice, stream);
}

void copy_to_host(void* dst, const void* src, size_t bytes, Stream stream) {
  copy(dst, src, bytes, cudaMemcpyDeviceToHost, stream);
}

void device_memset(void* dst, int value, size_t bytes) { MMI_CUDA_CHECK(cudaMemset(dst, value, bytes)); }

void synchronize() { MMI_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace mmi::cuda
