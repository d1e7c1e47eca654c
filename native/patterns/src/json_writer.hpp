// A small JSON writer for the files this layer writes (pattern files, search checkpoints): deterministic output
// (keys in the order written, shortest round-trip numbers), two-space indentation, and containers that can be
// kept on one line. The strict reader is mmi::runtime::Json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mmi::patterns::detail {

class JsonWriter {
 public:
  // one_line: the whole document on one line (checkpoint records).
  explicit JsonWriter(bool one_line = false) : one_line_(one_line) {}

  // inline_: this container and everything in it on one line.
  JsonWriter& begin_object(bool inline_ = false);
  JsonWriter& end_object();
  JsonWriter& begin_array(bool inline_ = false);
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(double number);  // must be finite
  JsonWriter& value(bool flag);

  // The text so far (plus a newline when not one_line).
  std::string finish();

 private:
  struct Frame {
    bool inline_;
    bool empty = true;
  };
  void before_value();
  void close(char bracket);
  void newline(std::size_t depth);
  bool flat() const { return one_line_ || (!stack_.empty() && stack_.back().inline_); }

  std::string out_;
  std::vector<Frame> stack_;
  bool one_line_;
  bool after_key_ = false;
};

// Appends `text` as a JSON string literal (quotes, escapes for '"', '\\' and control characters).
void append_json_string(std::string& out, std::string_view text);

}  // namespace mmi::patterns::detail
