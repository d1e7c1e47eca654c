// A minimal test harness: TEST(name) registers a case; CHECK(cond) << "context" records a failure with file, line
// and message and lets the case go on; main() runs every case (or those whose name contains argv[1]) and exits 1
// if any check failed. Exceptions escaping a case count as failures.
#pragma once

#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

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
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

// Collects the streamed context of a failed check and prints it when destroyed (end of the full expression).
class Failure {
 public:
  Failure(const char* file, int line, const char* expr) { out_ << file << ":" << line << ": CHECK(" << expr << ") failed"; }
  ~Failure() {
    std::fprintf(stderr, "%s\n", out_.str().c_str());
    ++failures();
  }
  template <class T>
  Failure& operator<<(const T& value) {
    if (!context_) {
      out_ << ": ";
      context_ = true;
    }
    out_ << value;
    return *this;
  }

 private:
  std::ostringstream out_;
  bool context_ = false;
};

inline int run(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int ran = 0;
  for (const Case& c : cases()) {
    if (!filter.empty() && std::string(c.name).find(filter) == std::string::npos) continue;
    const int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: unexpected exception: %s\n", c.name, e.what());
      ++failures();
    }
    std::printf("%s %s\n", failures() == before ? "ok  " : "FAIL", c.name);
    ++ran;
  }
  std::printf("%d cases, %d failed checks\n", ran, failures());
  return failures() == 0 && ran > 0 ? 0 : 1;
}

}  // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#define TEST(name)                                                              \
  static void name();                                                           \
  static const ::check::Register CHECK_CAT(register_, name)(#name, &name);     \
  static void name()
#define CHECK(cond) \
  if (cond) {       \
  } else            \
    ::check::Failure(__FILE__, __LINE__, #cond)

// Runs `stmt` and checks that it throws mmi::attention::Error with `code` (message printed on mismatch).
#define CHECK_THROWS_CODE(stmt, expected)                                                                  \
  do {                                                                                                  \
    bool threw_ = false;                                                                                \
    try {                                                                                               \
      stmt;                                                                                             \
    } catch (const ::mmi::attention::Error& e) {                                                        \
      threw_ = true;                                                                                    \
      CHECK(e.code() == (expected)) << "wrong code " << static_cast<int>(e.code()) << ": " << e.what();    \
    }                                                                                                   \
    CHECK(threw_) << "expected an error from " #stmt;                                                   \
  } while (0)
