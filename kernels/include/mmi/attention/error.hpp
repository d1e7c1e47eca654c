// Errors of the attention core. Every public function checks its arguments and throws Error with a code the C API
// maps to a status and a message that names the argument and the offending value.
#pragma once

#include <string>

#include "mmi/error.hpp"

namespace mmi::attention {

enum class ErrorCode : int {
  InvalidArgument = 1,  // shapes, strides, layouts, indices, budgets the core cannot use
  NonFinite = 2,        // NaN or Inf in an input tensor
  Cancelled = 3,        // the caller's cancel flag was raised
  OutOfMemory = 4,      // an allocation failed
  Internal = 5,         // a bug: an invariant of our own code broke
};

// what() is the message alone (the C API adds the code's name).
class Error : public TypedError<ErrorCode> {
 public:
  Error(ErrorCode code, const std::string& message) : TypedError(code, message) {}
};

// Throws Error(InvalidArgument, message) unless `ok`.
inline void require(bool ok, const std::string& message) {
  if (!ok) throw Error(ErrorCode::InvalidArgument, message);
}

}  // namespace mmi::attention
