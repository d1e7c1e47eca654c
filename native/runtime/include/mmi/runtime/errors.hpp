// Typed errors of the engine runtime. Every failure caused by a model folder or by caller input carries a code,
// the file and the tensor (or config key) it concerns, so the app can say exactly what is wrong.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "mmi/error.hpp"

namespace mmi::runtime {

enum class ErrorCode {
  FileNotFound,       // a required file is absent
  FileUnreadable,     // open/stat/mmap failed, or not a regular file
  OutsideFolder,      // a model folder's file is a link that leads out of the folder
  HeaderTooLarge,     // safetensors header length above the limit
  HeaderBeyondFile,   // safetensors header length points past the end of the file
  InvalidHeader,      // safetensors header is not the expected JSON structure
  InvalidJson,        // a JSON file does not parse
  TruncatedFile,      // a tensor's bytes end past the end of its file
  TensorOverlap,      // two tensors share bytes
  TensorMissing,      // a tensor the model needs is absent
  TensorShape,        // a tensor has the wrong shape
  TensorDtype,        // a tensor has a dtype the runtime cannot use
  ConfigMissingKey,   // config.json lacks a key the model needs
  ConfigInvalid,      // config.json has a value the runtime cannot use
  UnsupportedModel,   // config.json names another model family
  InvalidInput,       // caller input (ids, frames, positions) is inconsistent
  NonFinite,          // the forward produced NaN or Inf (e.g. fp16 overflow in the weights' range)
  Cancelled,          // the caller's cancel flag was raised
  Internal,           // a broken invariant of our own code
  DeviceUnavailable,  // the GPU backend was asked for but no usable GPU or GPU library is there
  DeviceError,        // a GPU call failed
  OutOfMemory,        // the work does not fit in the GPU's memory (the message gives the numbers)
};

std::string_view error_code_name(ErrorCode code);

// what(): "TensorShape: model.safetensors: 'visual.patch_embed.proj.weight': expected [...]".
class Error : public TypedError<ErrorCode> {
 public:
  // file: the file concerned (may be empty); subject: the tensor name or config key (may be empty).
  Error(ErrorCode code, std::string file, std::string subject, std::string detail)
      : TypedError(code, std::move(file), std::move(subject), std::move(detail), error_code_name(code), true) {}
};

}  // namespace mmi::runtime
