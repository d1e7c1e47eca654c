// A minimal test harness for the runtime's ctest executables: TEST(name) registers a case, CHECK records a
// failure with its location and goes on, REQUIRE stops the case, CHECK_THROWS_CODE expects a typed Error.
#pragma once

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "mmi/runtime/errors.hpp"

namespace check {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

struct Abort {};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what.c_str());
}

inline int run_all() {
  int failed_cases = 0;
  for (const auto& c : cases()) {
    const int before = failures();
    try {
      c.fn();
    } catch (const Abort&) {
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    const bool ok = failures() == before;
    failed_cases += ok ? 0 : 1;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
  }
  std::printf("%zu cases, %d failed\n", cases().size(), failed_cases);
  return failed_cases == 0 ? 0 : 1;
}

}  // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#define TEST(name)                                                                   \
  static void CHECK_CAT(test_fn_, __LINE__)();                                       \
  static check::Register CHECK_CAT(test_reg_, __LINE__)(name, CHECK_CAT(test_fn_, __LINE__)); \
  static void CHECK_CAT(test_fn_, __LINE__)()

#define CHECK(cond) \
  do {              \
    if (!(cond)) check::fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define CHECK_MSG(cond, msg) \
  do {                       \
    if (!(cond)) check::fail(__FILE__, __LINE__, std::string(#cond) + ": " + (msg)); \
  } while (0)

#define REQUIRE(cond)                                  \
  do {                                                 \
    if (!(cond)) {                                     \
      check::fail(__FILE__, __LINE__, #cond);          \
      throw check::Abort{};                            \
    }                                                  \
  } while (0)

// Expects expr to throw mmi::runtime::Error with the given code; returns nothing, records the message.
#define CHECK_THROWS_CODE(expr, expected_code, must_mention)                                               \
  do {                                                                                                    \
    try {                                                                                                 \
      (void)(expr);                                                                                       \
      check::fail(__FILE__, __LINE__, std::string(#expr) + " did not throw");                              \
    } catch (const mmi::runtime::Error& e) {                                                              \
      if (e.code() != (expected_code)) {                                                                  \
        check::fail(__FILE__, __LINE__, std::string("wrong code: ") + e.what());                          \
      } else if (std::string(e.what()).find(must_mention) == std::string::npos) {                         \
        check::fail(__FILE__, __LINE__, std::string("message lacks '") + (must_mention) + "': " + e.what()); \
      }                                                                                                   \
    }                                                                                                     \
  } while (0)

#define TEST_MAIN() \
  int main() { return check::run_all(); }
