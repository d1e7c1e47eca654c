// Checks for the pattern layer's tests, on the native test harness: CHECK_PATTERN_ERROR expects a typed
// mmi::patterns::Error whose message names something.
#pragma once

#include <string>

#include "mmi/patterns/error.hpp"
#include "runtime_checks.hpp"

#define CHECK_PATTERN_ERROR(stmt, expected, must_mention)                                                          \
  do {                                                                                                          \
    bool threw_ = false;                                                                                        \
    try {                                                                                                       \
      (void)(stmt);                                                                                             \
    } catch (const ::mmi::patterns::Error& e) {                                                                 \
      threw_ = true;                                                                                            \
      CHECK(e.code() == (expected)) << "wrong code " << ::mmi::patterns::error_code_name(e.code()) << ": "     \
                                    << e.what();                                                                \
      CHECK(std::string(e.what()).find(must_mention) != std::string::npos)                                     \
          << "message lacks '" << (must_mention) << "': " << e.what();                                          \
    }                                                                                                           \
    CHECK(threw_) << "expected an error from " #stmt;                                                           \
  } while (0)
