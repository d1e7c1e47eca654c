// The part of cuBLASLt's C interface the engine uses, declared here because machines that build the engine need
// not have cuBLAS installed (the library is opened at run time). Values and layouts are those of cublasLt.h in
// CUDA 11.4 and later (stable ABI): status 0 is success; compute type CUBLAS_COMPUTE_32F = 68;
// CUBLASLT_MATMUL_DESC_TRANSA = 3, _TRANSB = 4; CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1; an algorithm is 64
// opaque bytes and a heuristic result 96. Data types (CUDA_R_16BF, CUDA_R_32F) come from the runtime's
// library_types.h.
#pragma once

#include <library_types.h>

#include <cstddef>
#include <cstdint>

namespace mmi::runtime::cuda::lt {

using Status = int;
inline constexpr Status kSuccess = 0;

struct Context;
struct MatmulDescOpaque;
struct MatrixLayoutOpaque;
struct PreferenceOpaque;
using Handle = Context*;
using MatmulDesc = MatmulDescOpaque*;
using MatrixLayout = MatrixLayoutOpaque*;
using Preference = PreferenceOpaque*;

struct Algo {
  std::uint64_t data[8];
};

struct HeuristicResult {
  Algo algo;
  std::size_t workspace_size;
  Status state;
  float waves_count;
  int reserved[4];
};
static_assert(sizeof(HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

inline constexpr int kComputeF32 = 68;     // CUBLAS_COMPUTE_32F
inline constexpr int kDescTransA = 3;      // CUBLASLT_MATMUL_DESC_TRANSA
inline constexpr int kDescTransB = 4;      // CUBLASLT_MATMUL_DESC_TRANSB
inline constexpr int kPrefMaxWorkspace = 1;  // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
inline constexpr std::int32_t kOpN = 0;    // CUBLAS_OP_N
inline constexpr std::int32_t kOpT = 1;    // CUBLAS_OP_T

// Function types, named after the cuBLASLt functions they point to.
using GetVersion = std::size_t (*)();
using Create = Status (*)(Handle*);
using Destroy = Status (*)(Handle);
using MatmulDescCreate = Status (*)(MatmulDesc*, int compute_type, cudaDataType_t scale_type);
using MatmulDescDestroy = Status (*)(MatmulDesc);
using MatmulDescSetAttribute = Status (*)(MatmulDesc, int attribute, const void* buf, std::size_t size);
using MatrixLayoutCreate = Status (*)(MatrixLayout*, cudaDataType_t type, std::uint64_t rows, std::uint64_t cols,
                                      std::int64_t ld);
using MatrixLayoutDestroy = Status (*)(MatrixLayout);
using PreferenceCreate = Status (*)(Preference*);
using PreferenceDestroy = Status (*)(Preference);
using PreferenceSetAttribute = Status (*)(Preference, int attribute, const void* buf, std::size_t size);
using AlgoGetHeuristic = Status (*)(Handle, MatmulDesc, MatrixLayout a, MatrixLayout b, MatrixLayout c,
                                    MatrixLayout d, Preference, int requested, HeuristicResult* results,
                                    int* returned);
using Matmul = Status (*)(Handle, MatmulDesc, const void* alpha, const void* a, MatrixLayout, const void* b,
                          MatrixLayout, const void* beta, const void* c, MatrixLayout, void* d, MatrixLayout,
                          const Algo* algo, void* workspace, std::size_t workspace_size, cudaStream_t stream);

}  // namespace mmi::runtime::cuda::lt
