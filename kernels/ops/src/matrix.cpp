#include "mmi/ops/matrix.hpp"

#include <cstring>

#include "mmi/ops/half.hpp"

namespace mmi::ops {

namespace {

const void* element(const MatrixView& m, std::int64_t r, std::int64_t c) {
  return static_cast<const unsigned char*>(m.data) +
         (static_cast<std::size_t>(r) * static_cast<std::size_t>(m.row_stride()) + static_cast<std::size_t>(c)) *
             elem_size(m.type);
}

}  // namespace

MatrixView row_slice(const MatrixView& m, std::int64_t r0, std::int64_t n) {
  return {element(m, r0, 0), m.type, n, m.cols, m.row_stride()};
}

MatrixView col_slice(const MatrixView& m, std::int64_t c0, std::int64_t n) {
  return {element(m, 0, c0), m.type, m.rows, n, m.row_stride()};
}

void load_row(const MatrixView& m, std::int64_t r, std::int64_t c0, std::int64_t n, float* dst) {
  const auto* base = static_cast<const unsigned char*>(element(m, r, c0));
  switch (m.type) {
    case ElemType::F32:
      std::memcpy(dst, base, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case ElemType::BF16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, base + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case ElemType::F16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, base + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
  }
}

}  // namespace mmi::ops
