// A small strict JSON parser (RFC 8259) for the files a model folder holds: config.json, safetensors headers and
// the shard index. Built for hostile input: bounded nesting depth, UTF-8 validated, duplicate keys rejected,
// integers kept exact, no recursion on unbounded input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mmi::runtime {

class JsonError : public std::runtime_error {
 public:
  JsonError(std::size_t offset, const std::string& message);
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

struct JsonLimits {
  std::size_t max_depth = 64;
};

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // in file order; keys are unique

  struct Number {
    double value = 0.0;
    std::optional<std::int64_t> exact;  // set when the literal is an integer that fits in int64
  };

  Json() = default;
  static Json parse(std::string_view text, const JsonLimits& limits = {});

  Type type() const;
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  // Accessors return nullptr / nullopt on a type mismatch, so callers can report which key was wrong.
  const bool* as_bool() const { return std::get_if<bool>(&value_); }
  const Number* as_number() const { return std::get_if<Number>(&value_); }
  std::optional<std::int64_t> as_int() const;  // an exact integer literal only
  const std::string* as_string() const { return std::get_if<std::string>(&value_); }
  const Array* as_array() const { return std::get_if<Array>(&value_); }
  const Object* as_object() const { return std::get_if<Object>(&value_); }

  // Member of an object, or nullptr (also when this is not an object).
  const Json* find(std::string_view key) const;

 private:
  friend class JsonParser;
  std::variant<std::nullptr_t, bool, Number, std::string, Array, Object> value_ = nullptr;
};

}  // namespace mmi::runtime
