#include "json_writer.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace mmi::patterns::detail {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

void JsonWriter::newline(std::size_t depth) {
  out_ += '\n';
  out_.append(2 * depth, ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  Frame& f = stack_.back();
  if (!f.empty) out_ += flat() ? ", " : ",";
  if (!flat()) newline(stack_.size());
  f.empty = false;
}

JsonWriter& JsonWriter::begin_object(bool inline_) {
  before_value();
  out_ += '{';
  stack_.push_back({inline_ || flat()});
  return *this;
}

JsonWriter& JsonWriter::begin_array(bool inline_) {
  before_value();
  out_ += '[';
  stack_.push_back({inline_ || flat()});
  return *this;
}

void JsonWriter::close(char bracket) {
  const Frame f = stack_.back();
  const bool was_flat = flat();
  stack_.pop_back();
  if (!f.empty && !was_flat) newline(stack_.size());
  out_ += bracket;
}

JsonWriter& JsonWriter::end_object() {
  close('}');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(']');
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  before_value();
  append_json_string(out_, name);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  append_json_string(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  before_value();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  if (!std::isfinite(number)) throw std::logic_error("JSON cannot hold a non-finite number");
  before_value();
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, number);  // shortest text that reads back to the same double
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  return *this;
}

std::string JsonWriter::finish() {
  if (!one_line_) out_ += '\n';
  return std::move(out_);
}

}  // namespace mmi::patterns::detail
