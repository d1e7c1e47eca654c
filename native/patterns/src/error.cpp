#include "mmi/patterns/error.hpp"

namespace mmi::patterns {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::FileNotFound: return "FileNotFound";
    case ErrorCode::FileUnreadable: return "FileUnreadable";
    case ErrorCode::FileUnwritable: return "FileUnwritable";
    case ErrorCode::InvalidJson: return "InvalidJson";
    case ErrorCode::UnsupportedVersion: return "UnsupportedVersion";
    case ErrorCode::InvalidField: return "InvalidField";
    case ErrorCode::UnknownPattern: return "UnknownPattern";
    case ErrorCode::WrongShape: return "WrongShape";
    case ErrorCode::NegativeBudget: return "NegativeBudget";
    case ErrorCode::WrongModel: return "WrongModel";
    case ErrorCode::CheckpointInvalid: return "CheckpointInvalid";
    case ErrorCode::InvalidInput: return "InvalidInput";
    case ErrorCode::Cancelled: return "Cancelled";
  }
  return "Unknown";
}

}  // namespace mmi::patterns
