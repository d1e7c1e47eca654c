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

namespace {

std::string compose(ErrorCode code, const std::string& file, const std::string& where, const std::string& detail) {
  return std::string(error_code_name(code)) + ": " + (file.empty() ? "" : file + ": ") + (where.empty() ? "" : where + ": ") +
         detail;
}

}  // namespace

Error::Error(ErrorCode code, std::string file, std::string where, std::string detail)
    : std::runtime_error(compose(code, file, where, detail)),
      code_(code),
      file_(std::move(file)),
      where_(std::move(where)),
      detail_(std::move(detail)) {}

}  // namespace mmi::patterns
