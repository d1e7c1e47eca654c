// Tensor maps (TMA descriptors) for the Hopper kernel's dense key/value tiles. The driver's encoder is reached
// through the runtime's entry-point query, so nothing links against libcuda.
#include <cuda.h>
#include <cuda_runtime.h>

#include <string>

#include "sm90_attention.cuh"

namespace mmi::cuda::detail {
namespace {

using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiled encoder() {
  static const EncodeTiled fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status{};
    MMI_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &status));
    if (status != cudaDriverEntryPointSuccess || !ptr) {
      throw Error("the CUDA driver has no cuTensorMapEncodeTiled", ErrorKind::Device);
    }
    return reinterpret_cast<EncodeTiled>(ptr);
  }();
  return fn;
}

CUtensorMap make_map(const void* base, int64_t heads, int64_t n, int d, DType dtype, int box_rows) {
  CUtensorMap map{};
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(d), static_cast<cuuint64_t>(n), static_cast<cuuint64_t>(heads)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(d) * 2, static_cast<cuuint64_t>(n) * d * 2};
  const cuuint32_t box[3] = {64, static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult r = encoder()(&map, dtype == DType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                               3, const_cast<void*>(base), dims, strides, box, element_strides,
                               CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    throw Error("cuTensorMapEncodeTiled failed with code " + std::to_string(static_cast<int>(r)), ErrorKind::Device);
  }
  return map;
}

}  // namespace

Sm90TensorMaps make_kv_maps(const void* k, const void* v, int64_t heads, int64_t n, int d, DType dtype, int box_rows) {
  return Sm90TensorMaps{make_map(k, heads, n, d, dtype, box_rows), make_map(v, heads, n, d, dtype, box_rows)};
}

}  // namespace mmi::cuda::detail
