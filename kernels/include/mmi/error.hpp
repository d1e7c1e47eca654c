// The one typed-error mechanism of the native layers (docs/architecture.md §5): an exception with a code of its
// layer's own kinds, the file and the subject (tensor, config key, JSON path or argument) it concerns, and a detail
// for people. A layer that needs its own kinds derives its Error from TypedError<its ErrorCode>
// (mmi::attention::Error, mmi::runtime::Error, mmi::patterns::Error); the C API maps each to a status.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace mmi {

template <class Code>
class TypedError : public std::runtime_error {
 public:
  Code code() const noexcept { return code_; }
  const std::string& file() const noexcept { return file_; }        // may be empty
  const std::string& subject() const noexcept { return subject_; }  // may be empty
  const std::string& detail() const noexcept { return detail_; }

 protected:
  // what() is "<name>: <file>: <subject>: <detail>" without the empty parts; quote_subject puts it in '…'.
  TypedError(Code code, std::string file, std::string subject, std::string detail, std::string_view name,
             bool quote_subject)
      : std::runtime_error(compose(name, file, subject, detail, quote_subject)),
        code_(code),
        file_(std::move(file)),
        subject_(std::move(subject)),
        detail_(std::move(detail)) {}
  // what() is the detail alone.
  TypedError(Code code, std::string detail) : std::runtime_error(detail), code_(code), detail_(std::move(detail)) {}

 private:
  static std::string compose(std::string_view name, const std::string& file, const std::string& subject,
                             const std::string& detail, bool quote_subject) {
    std::string message(name);
    message += ": ";
    if (!file.empty()) message += file + ": ";
    if (!subject.empty()) message += quote_subject ? "'" + subject + "': " : subject + ": ";
    return message + detail;
  }

  Code code_;
  std::string file_;
  std::string subject_;
  std::string detail_;
};

}  // namespace mmi
