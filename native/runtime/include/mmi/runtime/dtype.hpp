// Tensor element types as safetensors names them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mmi/ops/matrix.hpp"

namespace mmi::runtime {

enum class Dtype { Bool, U8, I8, U16, I16, U32, I32, U64, I64, F8E4M3, F8E5M2, F16, BF16, F32, F64 };

std::optional<Dtype> parse_dtype(std::string_view name);
std::string_view dtype_name(Dtype d);
std::size_t dtype_size(Dtype d);

// The storage types the CPU ops read directly (weights stay in their file dtype).
std::optional<ops::ElemType> to_elem_type(Dtype d);

}  // namespace mmi::runtime
