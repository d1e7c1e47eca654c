// Matrix products of the forward graphs through cuBLASLt, loaded at run time with dlopen: machines that build the
// engine may have the CUDA compiler and runtime but no cuBLAS, and the engine must build and run (on the CPU)
// there. The few cuBLASLt entry points and types used are declared in src/cublaslt_api.hpp.
//
// Layout: row-major activations A [m, k] (bf16, row stride lda) times a weight W [n, k] (bf16, rows contiguous),
// C [m, n] = alpha · A · Wᵀ + beta · C, C in fp32 or bf16 (row stride ldc), fp32 accumulation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>

namespace mmi::runtime::cuda {

// Where the library is searched: $MMI_CUBLASLT (a full path) first, then libcublasLt.so.13, .so.12 and .so on the
// loader's path. False, with the reason, when none loads.
bool cublaslt_available(std::string* why = nullptr);
std::string cublaslt_description();  // "cuBLASLt 130100 (/usr/local/cuda/lib64/libcublasLt.so.13)"

enum class OutType { F32, BF16 };

class Gemm {
 public:
  // Raises Error(DeviceUnavailable) when cuBLASLt cannot be loaded. workspace_bytes: cuBLASLt's scratch.
  explicit Gemm(cudaStream_t stream, std::size_t workspace_bytes = 32u << 20);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // c[m, n] = a[m, k] · w[n, k]ᵀ (+ c when accumulate). Pointers 16-byte aligned, strides multiples of 8.
  void linear(const void* a, std::int64_t lda, std::int64_t m, const void* w, std::int64_t n, std::int64_t k,
              void* c, OutType c_type, std::int64_t ldc, bool accumulate);

  cudaStream_t stream() const { return stream_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  cudaStream_t stream_;
};

}  // namespace mmi::runtime::cuda
