// Checks for the runtime's tests, on top of the native test harness (test/native/attention/check.hpp):
// REQUIRE stops a case; CHECK_THROWS_ERROR expects a typed mmi::runtime::Error whose message names something.
#pragma once

#include <stdexcept>
#include <string>

#include "check.hpp"
#include "mmi/runtime/errors.hpp"

#define REQUIRE(cond) \
  if (cond) {         \
  } else              \
    throw std::runtime_error("REQUIRE(" #cond ") failed")

#define CHECK_THROWS_ERROR(stmt, expected, must_mention)                                                  \
  do {                                                                                                   \
    bool threw_ = false;                                                                                 \
    try {                                                                                                \
      (void)(stmt);                                                                                      \
    } catch (const ::mmi::runtime::Error& e) {                                                           \
      threw_ = true;                                                                                     \
      CHECK(e.code() == (expected)) << "wrong code: " << e.what();                                       \
      CHECK(std::string(e.what()).find(must_mention) != std::string::npos)                              \
          << "message lacks '" << (must_mention) << "': " << e.what();                                   \
    }                                                                                                    \
    CHECK(threw_) << "expected an error from " #stmt;                                                    \
  } while (0)
