#include "mmi/attention/tensor.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
  }
  return "unknown";
}

int64_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 2; }

namespace {

std::string shape(const HeadsView& t) {
  std::string s = "[";  // appended piecewise: GCC 12 at -O3 warns falsely on "literal" + std::string&&
  s += std::to_string(t.heads) + ", " + std::to_string(t.n) + ", " + std::to_string(t.dim) + "]";
  return s;
}

void validate_view(const HeadsView& t, const char* name) {
  const std::string who = std::string(name) + " ";
  require(t.dtype == DType::f32 || t.dtype == DType::f16 || t.dtype == DType::bf16,
          who + "has an unknown dtype " + std::to_string(static_cast<int>(t.dtype)));
  require(t.heads > 0 && t.n > 0 && t.dim > 0, who + "must have positive heads, tokens and head dim, got " + shape(t));
  require(t.dim <= kMaxHeadDim, who + "head dim " + std::to_string(t.dim) + " is above the supported " +
                                    std::to_string(kMaxHeadDim));
  require(t.data != nullptr, who + "has no data");
  require(t.row_stride == 0 || t.row_stride >= t.dim,
          who + "row stride " + std::to_string(t.row_stride) + " is smaller than the head dim");
  require(t.head_stride >= 0, who + "has a negative head stride");
  require(t.n < (int64_t{1} << 31), who + "has more than 2^31 tokens");
}

void check_finite_view(const HeadsView& t, const char* name) {
  std::vector<float> row(static_cast<size_t>(t.dim));
  for (int64_t h = 0; h < t.heads; ++h) {
    for (int64_t r = 0; r < t.n; ++r) {
      t.load_row(h, r, row.data());
      for (int64_t d = 0; d < t.dim; ++d) {
        if (!std::isfinite(row[static_cast<size_t>(d)])) {
          throw Error(ErrorCode::NonFinite, std::string(name) + " holds " +
                                                (std::isnan(row[static_cast<size_t>(d)]) ? "NaN" : "Inf") +
                                                " at head " + std::to_string(h) + ", token " + std::to_string(r) +
                                                ", dim " + std::to_string(d));
        }
      }
    }
  }
}

}  // namespace

void validate_qk(const HeadsView& q, const HeadsView& k, bool check_finite, bool fewer_queries) {
  validate_view(q, "q");
  validate_view(k, "k");
  require(fewer_queries ? q.n <= k.n : q.n == k.n,
          "q has " + std::to_string(q.n) + " tokens but k has " + std::to_string(k.n));
  require(q.dim == k.dim, "q has head dim " + std::to_string(q.dim) + " but k has " + std::to_string(k.dim));
  require(q.heads % k.heads == 0, "q heads (" + std::to_string(q.heads) + ") must be a multiple of kv heads (" +
                                      std::to_string(k.heads) + ")");
  if (check_finite) {
    check_finite_view(q, "q");
    check_finite_view(k, "k");
  }
}

void validate_qkv(const HeadsView& q, const HeadsView& k, const HeadsView& v, const OutputView* o, bool check_finite,
                  bool fewer_queries) {
  validate_qk(q, k, false, fewer_queries);
  validate_view(v, "v");
  require(v.n == k.n && v.dim == k.dim && v.heads == k.heads,
          "v has shape " + shape(v) + " but k has " + shape(k));
  if (o != nullptr) {
    require(o->data != nullptr, "o has no data");
    require(o->heads == q.heads && o->n == q.n && o->dim == q.dim,
            "o has shape [" + std::to_string(o->heads) + ", " + std::to_string(o->n) + ", " + std::to_string(o->dim) +
                "] but q has " + shape(q));
    require(o->row_stride == 0 || o->row_stride >= o->dim, "o row stride is smaller than the head dim");
    require(o->head_stride >= 0, "o has a negative head stride");
  }
  if (check_finite) {
    check_finite_view(q, "q");
    check_finite_view(k, "k");
    check_finite_view(v, "v");
  }
}

float resolve_scale(float scale, int64_t dim) {
  require(std::isfinite(scale) && scale >= 0.0f, "scale must be finite and >= 0, got " + std::to_string(scale));
  return scale == 0.0f ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim))) : scale;
}

}  // namespace mmi::attention
