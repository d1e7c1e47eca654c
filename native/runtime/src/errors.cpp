#include "mmi/runtime/errors.hpp"

namespace mmi::runtime {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::FileNotFound: return "FileNotFound";
    case ErrorCode::FileUnreadable: return "FileUnreadable";
    case ErrorCode::OutsideFolder: return "OutsideFolder";
    case ErrorCode::HeaderTooLarge: return "HeaderTooLarge";
    case ErrorCode::HeaderBeyondFile: return "HeaderBeyondFile";
    case ErrorCode::InvalidHeader: return "InvalidHeader";
    case ErrorCode::InvalidJson: return "InvalidJson";
    case ErrorCode::TruncatedFile: return "TruncatedFile";
    case ErrorCode::TensorOverlap: return "TensorOverlap";
    case ErrorCode::TensorMissing: return "TensorMissing";
    case ErrorCode::TensorShape: return "TensorShape";
    case ErrorCode::TensorDtype: return "TensorDtype";
    case ErrorCode::ConfigMissingKey: return "ConfigMissingKey";
    case ErrorCode::ConfigInvalid: return "ConfigInvalid";
    case ErrorCode::UnsupportedModel: return "UnsupportedModel";
    case ErrorCode::InvalidInput: return "InvalidInput";
    case ErrorCode::NonFinite: return "NonFinite";
    case ErrorCode::Cancelled: return "Cancelled";
    case ErrorCode::Internal: return "Internal";
    case ErrorCode::DeviceUnavailable: return "DeviceUnavailable";
    case ErrorCode::DeviceError: return "DeviceError";
    case ErrorCode::OutOfMemory: return "OutOfMemory";
  }
  return "Unknown";
}

}  // namespace mmi::runtime
