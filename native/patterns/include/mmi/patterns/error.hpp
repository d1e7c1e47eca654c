// Typed errors of the pattern layer: pattern files (loading, validation, the model they belong to), the offline
// search's inputs and checkpoints. Each carries the file and the JSON path (or input) it concerns, so the app can
// say exactly what is wrong, e.g.
//   UnknownPattern: patterns.json: layers[3].heads[1].pattern: 'diagonal' is not a pattern (a_shape, ...)
// Errors raised by the model runtime during a search (bad ids, missing tensors) stay mmi::runtime::Error.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "mmi/error.hpp"

namespace mmi::patterns {

enum class ErrorCode {
  FileNotFound,        // the pattern file or checkpoint does not exist
  FileUnreadable,      // open/read failed, or the file is larger than a pattern file can be
  FileUnwritable,      // writing the pattern file or checkpoint failed
  InvalidJson,         // the file is not JSON
  UnsupportedVersion,  // not a pattern file, or a schema version this build does not read
  InvalidField,        // a field is missing, of the wrong type, out of range, or not part of the schema
  UnknownPattern,      // a pattern name this build does not know
  WrongShape,          // layer or head count differs from the model's (or between layers)
  NegativeBudget,      // a budget below zero
  WrongModel,          // the file was made for another model (family, sizes or config.json hash differ)
  CheckpointInvalid,   // a search checkpoint from other inputs/settings, or damaged
  InvalidInput,        // search inputs or settings the search cannot use
  Cancelled,           // the caller's cancel flag stopped the search
};

std::string_view error_code_name(ErrorCode code);

class Error : public TypedError<ErrorCode> {
 public:
  // file: the file concerned (may be empty); where: the JSON path or input name (may be empty).
  Error(ErrorCode code, std::string file, std::string where, std::string detail)
      : TypedError(code, std::move(file), std::move(where), std::move(detail), error_code_name(code), false) {}

  const std::string& where() const noexcept { return subject(); }
};

}  // namespace mmi::patterns
