#include "mmi/runtime/dtype.hpp"

#include <array>
#include <utility>

namespace mmi::runtime {

namespace {

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DtypeInfo, 15> kDtypes{{
    {Dtype::Bool, "BOOL", 1},    {Dtype::U8, "U8", 1},    {Dtype::I8, "I8", 1},
    {Dtype::U16, "U16", 2},      {Dtype::I16, "I16", 2},  {Dtype::U32, "U32", 4},
    {Dtype::I32, "I32", 4},      {Dtype::U64, "U64", 8},  {Dtype::I64, "I64", 8},
    {Dtype::F8E4M3, "F8_E4M3", 1}, {Dtype::F8E5M2, "F8_E5M2", 1}, {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2},    {Dtype::F32, "F32", 4},  {Dtype::F64, "F64", 8},
}};

}  // namespace

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& d : kDtypes) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_name(Dtype d) {
  for (const auto& info : kDtypes) {
    if (info.dtype == d) return info.name;
  }
  return "?";
}

std::size_t dtype_size(Dtype d) {
  for (const auto& info : kDtypes) {
    if (info.dtype == d) return info.size;
  }
  return 0;
}

std::optional<ops::ElemType> to_elem_type(Dtype d) {
  switch (d) {
    case Dtype::F32: return ops::ElemType::F32;
    case Dtype::F16: return ops::ElemType::F16;
    case Dtype::BF16: return ops::ElemType::BF16;
    default: return std::nullopt;
  }
}

}  // namespace mmi::runtime
