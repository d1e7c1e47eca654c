// A read-only row-major matrix in its storage type: how the ops see weights that stay in their file dtype
// (possibly memory-mapped and not aligned for their element type, so elements are read with memcpy).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmi::ops {

enum class ElemType : std::uint8_t { F32, F16, BF16 };

inline constexpr std::size_t elem_size(ElemType t) { return t == ElemType::F32 ? 4 : 2; }

struct MatrixView {
  const void* data = nullptr;
  ElemType type = ElemType::F32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;    // elements per row
  std::int64_t stride = 0;  // elements from one row to the next; 0: cols (contiguous rows)
  std::int64_t row_stride() const { return stride == 0 ? cols : stride; }
};

// Rows [r0, r0 + n) or columns [c0, c0 + n) of m, as views of the same storage (a rank's share of a weight).
MatrixView row_slice(const MatrixView& m, std::int64_t r0, std::int64_t n);
MatrixView col_slice(const MatrixView& m, std::int64_t c0, std::int64_t n);

// dst[i] = m[r][c0 + i] as float, for i < n.
void load_row(const MatrixView& m, std::int64_t r, std::int64_t c0, std::int64_t n, float* dst);

}  // namespace mmi::ops
