#include "guard.hpp"

#include <exception>
#include <new>
#include <string_view>

#include "mmi/attention/error.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/runtime/errors.hpp"

#ifdef MMI_HAVE_CUDA
#include "mmi/cuda/runtime.hpp"
#endif

namespace mmi::capi {

namespace {

namespace at = mmi::attention;

const char* attention_kind(at::ErrorCode code) {
  switch (code) {
    case at::ErrorCode::InvalidArgument: return "InvalidArgument";
    case at::ErrorCode::NonFinite: return "NonFinite";
    case at::ErrorCode::Cancelled: return "Cancelled";
    case at::ErrorCode::OutOfMemory: return "OutOfMemory";
    case at::ErrorCode::Internal: return "Internal";
  }
  return "Internal";
}

mmi_status attention_status(at::ErrorCode code) {
  switch (code) {
    case at::ErrorCode::InvalidArgument: return MMI_INVALID_ARGUMENT;
    case at::ErrorCode::NonFinite: return MMI_NON_FINITE;
    case at::ErrorCode::Cancelled: return MMI_CANCELLED;
    case at::ErrorCode::OutOfMemory: return MMI_OUT_OF_MEMORY;
    case at::ErrorCode::Internal: return MMI_INTERNAL;
  }
  return MMI_INTERNAL;
}

// The model runtime's codes by name, so codes a backend adds map without touching this table's callers.
mmi_status runtime_status(std::string_view kind) {
  struct Entry {
    std::string_view kind;
    mmi_status status;
  };
  static constexpr Entry table[] = {
      {"FileNotFound", MMI_NOT_FOUND},
      {"FileUnreadable", MMI_MODEL_INVALID},
      {"OutsideFolder", MMI_MODEL_INVALID},
      {"HeaderTooLarge", MMI_MODEL_INVALID},
      {"HeaderBeyondFile", MMI_MODEL_INVALID},
      {"InvalidHeader", MMI_MODEL_INVALID},
      {"InvalidJson", MMI_MODEL_INVALID},
      {"TruncatedFile", MMI_MODEL_INVALID},
      {"TensorOverlap", MMI_MODEL_INVALID},
      {"TensorMissing", MMI_MODEL_INVALID},
      {"TensorShape", MMI_MODEL_INVALID},
      {"TensorDtype", MMI_MODEL_INVALID},
      {"ConfigMissingKey", MMI_MODEL_INVALID},
      {"ConfigInvalid", MMI_MODEL_INVALID},
      {"UnsupportedModel", MMI_UNSUPPORTED_MODEL},
      {"InvalidInput", MMI_INVALID_ARGUMENT},
      {"NonFinite", MMI_NON_FINITE},
      {"Cancelled", MMI_CANCELLED},
      {"Internal", MMI_INTERNAL},
      {"DeviceUnavailable", MMI_DEVICE_UNAVAILABLE},
      {"DeviceError", MMI_DEVICE_ERROR},
      {"OutOfMemory", MMI_OUT_OF_MEMORY},
  };
  for (const Entry& e : table) {
    if (e.kind == kind) return e.status;
  }
  return MMI_INTERNAL;
}

mmi_status patterns_status(mmi::patterns::ErrorCode code) {
  using mmi::patterns::ErrorCode;
  switch (code) {
    case ErrorCode::FileNotFound: return MMI_NOT_FOUND;
    case ErrorCode::InvalidInput: return MMI_INVALID_ARGUMENT;
    case ErrorCode::Cancelled: return MMI_CANCELLED;
    default: return MMI_PATTERN_FILE_INVALID;
  }
}

}  // namespace

LastError& last_error() {
  thread_local LastError error;
  return error;
}

mmi_status fail(mmi_status status, std::string message, std::string kind, std::string file, std::string subject) {
  last_error() = LastError{std::move(message), std::move(kind), std::move(file), std::move(subject)};
  return status;
}

mmi_status fail_current() noexcept {
  try {
    throw;
  } catch (const at::Error& e) {
    return fail(attention_status(e.code()), e.what(), attention_kind(e.code()));
  } catch (const runtime::Error& e) {
    const std::string_view kind = runtime::error_code_name(e.code());
    return fail(runtime_status(kind), e.what(), std::string(kind), e.file(), e.subject());
  } catch (const mmi::patterns::Error& e) {
    return fail(patterns_status(e.code()), e.what(), std::string(mmi::patterns::error_code_name(e.code())), e.file(),
                e.where());
#ifdef MMI_HAVE_CUDA
  } catch (const mmi::cuda::Error& e) {
    switch (e.kind()) {
      case mmi::cuda::ErrorKind::InvalidArgument: return fail(MMI_INVALID_ARGUMENT, e.what(), "InvalidArgument");
      case mmi::cuda::ErrorKind::OutOfMemory: return fail(MMI_OUT_OF_MEMORY, e.what(), "OutOfMemory");
      case mmi::cuda::ErrorKind::Device: break;
    }
    return fail(MMI_DEVICE_ERROR, e.what(), "DeviceError");
#endif
  } catch (const std::bad_alloc&) {
    return fail(MMI_OUT_OF_MEMORY, "out of memory", "OutOfMemory");
  } catch (const std::exception& e) {
    return fail(MMI_INTERNAL, std::string("internal error: ") + e.what(), "Internal");
  } catch (...) {
    return fail(MMI_INTERNAL, "internal error", "Internal");
  }
}

}  // namespace mmi::capi
