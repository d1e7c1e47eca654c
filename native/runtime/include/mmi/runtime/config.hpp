// Typed access to a parsed config file, with errors that name the file and the full key path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mmi/runtime/json.hpp"

namespace mmi::runtime {

// Reads and parses a JSON file (at most max_bytes), throwing FileNotFound / FileUnreadable / InvalidJson.
Json read_json_file(const std::string& path, std::size_t max_bytes = 64u << 20);

class ConfigView {
 public:
  ConfigView(const Json& node, std::string file, std::string path = "");

  const std::string& file() const { return file_; }
  bool has(std::string_view key) const;
  // A nested object, or nullopt when the key is absent; ConfigInvalid when present but not an object.
  std::optional<ConfigView> child(std::string_view key) const;

  std::int64_t get_int(std::string_view key) const;  // ConfigMissingKey / ConfigInvalid
  double get_number(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::vector<std::int64_t> get_int_array(std::string_view key) const;

  std::optional<std::int64_t> opt_int(std::string_view key) const;
  std::optional<double> opt_number(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  std::optional<std::vector<std::int64_t>> opt_int_array(std::string_view key) const;

  std::string key_path(std::string_view key) const;

 private:
  const Json* member(std::string_view key) const;
  const Json* node_;
  std::string file_;
  std::string path_;
};

}  // namespace mmi::runtime
