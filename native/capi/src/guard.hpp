// Every C entry point runs its body inside `guarded`, which turns each exception into a status plus a thread-local
// message and error info (the engine's own code name, the file and the tensor/key/JSON path), so no C++ exception
// crosses the C API.
#pragma once

#include <string>
#include <utility>

#include "mmi.h"

namespace mmi::capi {

struct LastError {
  std::string message;
  std::string kind;     // e.g. "TensorShape", "WrongModel", "InvalidArgument"
  std::string file;
  std::string subject;  // tensor, config key or JSON path
};

LastError& last_error();

mmi_status fail(mmi_status status, std::string message, std::string kind = {}, std::string file = {},
                std::string subject = {});

// The status and info of the exception being handled (call inside a catch block).
mmi_status fail_current() noexcept;

template <class F>
mmi_status guarded(F&& body) noexcept {
  try {
    last_error() = LastError{};
    std::forward<F>(body)();
    return MMI_OK;
  } catch (...) {
    return fail_current();
  }
}

}  // namespace mmi::capi
