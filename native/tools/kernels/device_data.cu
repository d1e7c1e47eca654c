#include "device_data.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <type_traits>

#include "mmi/cuda/runtime.hpp"

namespace mmi::kernels_tool {
namespace {

__device__ uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <typename T>
__global__ void normal_kernel(T* dst, int64_t count, uint64_t seed, float stddev) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint64_t r = splitmix64(seed * 0x632BE59BD9B4E019ull + static_cast<uint64_t>(i));
    const float u1 = (static_cast<float>(r >> 40) + 1.0f) * (1.0f / 16777217.0f);  // (0, 1]
    const float u2 = static_cast<float>((r >> 16) & 0xFFFFFF) * (1.0f / 16777216.0f);
    const float z = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      dst[i] = __float2bfloat16(z * stddev);
    } else {
      dst[i] = __float2half(z * stddev);
    }
  }
}

__global__ void nan_kernel(uint16_t* dst, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = 0xFFFF;
  }
}

template <typename T>
__global__ void nonfinite_kernel(const T* src, int64_t count, unsigned long long* out) {
  unsigned long long local = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v;
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      v = __bfloat162float(src[i]);
    } else {
      v = __half2float(src[i]);
    }
    if (!isfinite(v)) ++local;
  }
  if (local) atomicAdd(out, local);
}

constexpr int kThreads = 256;
constexpr int kGrid = 132 * 8;

}  // namespace

void fill_normal(void* dst, int64_t count, cuda::DType dtype, uint64_t seed, float stddev) {
  if (dtype == cuda::DType::bf16) {
    normal_kernel<<<kGrid, kThreads>>>(static_cast<__nv_bfloat16*>(dst), count, seed, stddev);
  } else {
    normal_kernel<<<kGrid, kThreads>>>(static_cast<__half*>(dst), count, seed, stddev);
  }
  MMI_CUDA_CHECK_LAUNCH("normal_kernel");
}

void fill_nan(void* dst, int64_t count) {
  nan_kernel<<<kGrid, kThreads>>>(static_cast<uint16_t*>(dst), count);
  MMI_CUDA_CHECK_LAUNCH("nan_kernel");
}

int64_t count_nonfinite(const void* src, int64_t count, cuda::DType dtype) {
  cuda::DeviceBuffer<unsigned long long> out(1);
  cuda::device_memset(out.get(), 0, sizeof(unsigned long long));
  if (dtype == cuda::DType::bf16) {
    nonfinite_kernel<<<kGrid, kThreads>>>(static_cast<const __nv_bfloat16*>(src), count, out.get());
  } else {
    nonfinite_kernel<<<kGrid, kThreads>>>(static_cast<const __half*>(src), count, out.get());
  }
  MMI_CUDA_CHECK_LAUNCH("nonfinite_kernel");
  unsigned long long host = 0;
  cuda::copy_to_host(&host, out.get(), sizeof(host));
  return static_cast<int64_t>(host);
}

}  // namespace mmi::kernels_tool
