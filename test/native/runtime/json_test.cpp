// The strict JSON parser on valid documents and on hostile ones (deep nesting, bad UTF-8, duplicates, junk).
#include <string>

#include "runtime_checks.hpp"
#include "mmi/runtime/json.hpp"

using mmi::runtime::Json;
using mmi::runtime::JsonError;

namespace {

bool rejects(const std::string& text) {
  try {
    Json::parse(text);
    return false;
  } catch (const JsonError&) {
    return true;
  }
}

}  // namespace

TEST(parses_objects_arrays_literals_and_keeps_integers_exact) {
  const Json j = Json::parse(R"( {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "x"},
                               "big": 9007199254740993, "neg": -9223372036854775808} )");
  REQUIRE(j.is_object());
  const auto& a = *j.find("a")->as_array();
  REQUIRE(a.size() == 7);
  CHECK(a[0].as_int() == 1);
  CHECK(a[1].as_int() == -2);
  CHECK(!a[2].as_int() && a[2].as_number()->value == 3.5);
  CHECK(!a[3].as_int() && a[3].as_number()->value == 1000.0);
  CHECK(*a[4].as_bool() && !*a[5].as_bool() && a[6].is_null());
  CHECK(*j.find("b")->find("c")->as_string() == "x");
  CHECK(j.find("big")->as_int() == 9007199254740993LL);  // not representable as a double
  CHECK(j.find("neg")->as_int() == INT64_MIN);
  CHECK(j.find("missing") == nullptr);
}

TEST(decodes_escapes_and_surrogate_pairs_to_utf_8) {
  const Json j = Json::parse(R"(["\u00e9\n\t\"\\\/", "\ud83d\ude00", "é"])");
  const auto& a = *j.as_array();
  CHECK(*a[0].as_string() == "\xc3\xa9\n\t\"\\/");
  CHECK(*a[1].as_string() == "\xf0\x9f\x98\x80");
  CHECK(*a[2].as_string() == "\xc3\xa9");
}

TEST(rejects_malformed_input) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
                          "nul", "[1] x", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
                          "{\"a\" 1}", "[\"\x01\"]", "1e999", "[1,2"}) {
    CHECK(rejects(bad)) << bad;
  }
}

TEST(rejects_invalid_utf_8_and_duplicate_keys) {
  CHECK(rejects("[\"\xff\"]"));
  CHECK(rejects("[\"\xc0\xaf\"]"));          // overlong
  CHECK(rejects("[\"\xed\xa0\x80\"]"));      // encoded surrogate
  CHECK(rejects("[\"\xe2\x82\"]"));          // truncated
  CHECK(rejects(R"({"a": 1, "a": 2})"));
}

TEST(bounds_nesting_depth_without_deep_recursion) {
  std::string deep(100000, '[');
  CHECK(rejects(deep));
  std::string ok = std::string(60, '[') + std::string(60, ']');
  CHECK(!rejects(ok));
}

