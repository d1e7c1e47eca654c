// Blocked fp32 GEMM for linear layers: C = A · Wᵀ (+ bias), with W in its storage type (fp32, fp16 or bf16,
// converted while it is packed). A and C are fp32 row-major with leading dimensions lda/ldc.
#pragma once

#include <cstdint>

#include "mmi/ops/matrix.hpp"

namespace mmi::ops {

class ThreadPool;

// a: [m, w.cols] with row stride lda; c: [m, w.rows] with row stride ldc; bias: [w.rows] or nullptr.
// accumulate: add to c instead of overwriting it. pool may be nullptr (single thread).
void linear(const float* a, std::int64_t lda, std::int64_t m, const MatrixView& w, const float* bias, float* c,
            std::int64_t ldc, bool accumulate, ThreadPool* pool);

}  // namespace mmi::ops
