// Writing safetensors files in tests: raw bytes for hostile headers, and re-writing a real file's tensors
// after a test changed their names, shapes, dtypes or bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mmi/runtime/safetensors.hpp"

namespace st_writer {

namespace fs = std::filesystem;

inline std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string u64_le(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

inline std::string file_with(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

struct Entry {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

inline std::vector<Entry> entries_of(const fs::path& p) {
  const mmi::runtime::SafetensorsFile f = mmi::runtime::SafetensorsFile::open(p);
  std::vector<Entry> out;
  for (const auto& t : f.tensors()) {
    const auto b = f.bytes(t);
    out.push_back({t.name, std::string(mmi::runtime::dtype_name(t.dtype)), t.shape,
                   std::string(reinterpret_cast<const char*>(b.data()), b.size())});
  }
  return out;
}

inline void write_entries(const fs::path& p, const std::vector<Entry>& entries) {
  std::string header = "{", data;
  for (const auto& e : entries) {
    std::string shape;
    for (std::size_t i = 0; i < e.shape.size(); ++i) {
      if (i > 0) shape += ',';
      shape += std::to_string(e.shape[i]);
    }
    if (header.size() > 1) header += ",";
    header += "\"" + e.name + "\":{\"dtype\":\"" + e.dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(data.size()) + "," + std::to_string(data.size() + e.bytes.size()) + "]}";
    data += e.bytes;
  }
  header += "}";
  write_all(p, file_with(header, data));
}

}  // namespace st_writer
