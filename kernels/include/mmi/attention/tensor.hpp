// Views of the attention operands: q [Hq, N, D], k/v [Hkv, N, D], o [Hq, N, D] (GQA: query head h reads kv head
// h / (Hq / Hkv)). Inputs are fp32, fp16 or bf16; everything is computed and accumulated in fp32 (fp64 in the
// references); outputs are fp32. Strides are in elements, so a head can be read in place from a fused buffer
// (e.g. qkv of shape [N, 3, H, D]: data = base + h*D, row_stride = 3*H*D, head_stride = D).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace mmi::attention {

enum class DType : int32_t { f32 = 0, f16 = 1, bf16 = 2 };

const char* dtype_name(DType dtype);
int64_t dtype_size(DType dtype);

inline float bf16_bits_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;  // bf16 is the top half of an fp32
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

inline float f16_bits_to_float(uint16_t bits) {
  _Float16 h;  // the compiler's IEEE half (GCC >= 12, Clang >= 15 on x86-64 and aarch64)
  std::memcpy(&h, &bits, sizeof h);
  return static_cast<float>(h);
}

inline constexpr int64_t kMaxHeadDim = 256;

struct HeadsView {
  const void* data = nullptr;
  DType dtype = DType::f32;
  int64_t heads = 0;
  int64_t n = 0;
  int64_t dim = 0;
  int64_t head_stride = 0;  // elements from one head to the next; 0: n * row_stride
  int64_t row_stride = 0;   // elements from one row to the next; 0: dim

  int64_t rstride() const { return row_stride ? row_stride : dim; }
  int64_t hstride() const { return head_stride ? head_stride : n * rstride(); }
  int64_t offset(int64_t head, int64_t row) const { return head * hstride() + row * rstride(); }

  // Row `row` of head `head`, converted to fp32, into out[0..dim).
  void load_row(int64_t head, int64_t row, float* out) const {
    const int64_t at = offset(head, row);
    switch (dtype) {
      case DType::f32: std::memcpy(out, static_cast<const float*>(data) + at, sizeof(float) * dim); break;
      case DType::f16: {
        const uint16_t* p = static_cast<const uint16_t*>(data) + at;
        for (int64_t d = 0; d < dim; ++d) out[d] = f16_bits_to_float(p[d]);
        break;
      }
      case DType::bf16: {
        const uint16_t* p = static_cast<const uint16_t*>(data) + at;
        for (int64_t d = 0; d < dim; ++d) out[d] = bf16_bits_to_float(p[d]);
        break;
      }
    }
  }
  float at(int64_t head, int64_t row, int64_t d) const {
    const int64_t i = offset(head, row) + d;
    switch (dtype) {
      case DType::f16: return f16_bits_to_float(static_cast<const uint16_t*>(data)[i]);
      case DType::bf16: return bf16_bits_to_float(static_cast<const uint16_t*>(data)[i]);
      default: return static_cast<const float*>(data)[i];
    }
  }
};

struct OutputView {
  float* data = nullptr;
  int64_t heads = 0;
  int64_t n = 0;
  int64_t dim = 0;
  int64_t head_stride = 0;  // 0: n * row_stride
  int64_t row_stride = 0;   // 0: dim

  int64_t rstride() const { return row_stride ? row_stride : dim; }
  int64_t hstride() const { return head_stride ? head_stride : n * rstride(); }
  float* row(int64_t head, int64_t r) const { return data + head * hstride() + r * rstride(); }
};

// A contiguous [heads, n, dim] view of fp32 data.
inline HeadsView contiguous(const float* data, int64_t heads, int64_t n, int64_t dim) {
  return HeadsView{data, DType::f32, heads, n, dim, 0, 0};
}

// Throws Error(InvalidArgument) naming the operand and the mismatch when q/k/v (and o, if given) are not a valid
// attention problem: null data, sizes <= 0, head dim above kMaxHeadDim, q/k/v lengths or dims differing, k and v
// head counts differing, Hq not a multiple of Hkv, strides smaller than a row. Throws Error(NonFinite) naming the
// first NaN/Inf element when `check_finite`. With `fewer_queries`, q may have fewer rows than k (a chunk of
// queries against a longer cache).
void validate_qkv(const HeadsView& q, const HeadsView& k, const HeadsView& v, const OutputView* o, bool check_finite,
                  bool fewer_queries = false);
void validate_qk(const HeadsView& q, const HeadsView& k, bool check_finite, bool fewer_queries = false);

// 1/sqrt(dim) when `scale` is 0; throws for a negative or non-finite scale.
float resolve_scale(float scale, int64_t dim);

}  // namespace mmi::attention
