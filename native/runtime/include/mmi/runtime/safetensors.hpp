// A safetensors file, memory-mapped and validated on open: header length within the limit and the file, a
// well-formed JSON header, known dtypes, shapes whose byte size matches data_offsets, every tensor inside the
// file, no two tensors sharing bytes. Any violation is an Error naming the file and the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmi/runtime/dtype.hpp"
#include "mmi/runtime/mapped_file.hpp"

namespace mmi::runtime {

struct SafetensorsLimits {
  std::uint64_t max_header_bytes = 100ull << 20;  // the reference parser's limit
  std::size_t max_rank = 16;
};

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets into the data section (after the header)
  std::uint64_t end = 0;
  std::int64_t numel() const;
};

// The validated layout of a safetensors file's bytes: all that SafetensorsFile::open checks, on bytes the caller
// holds (the fuzz targets in native/fuzz/ call it on theirs). `file` names them in errors.
struct SafetensorsLayout {
  std::uint64_t data_start = 0;      // 8 + the header length
  std::vector<TensorInfo> tensors;   // sorted by name; each inside the bytes, none sharing bytes with another
  std::map<std::string, std::string> metadata;
};
SafetensorsLayout parse_safetensors(std::span<const std::byte> bytes, const std::string& file,
                                    const SafetensorsLimits& limits = {});

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path, const SafetensorsLimits& limits = {});

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(std::string_view name) const;
  std::span<const std::byte> bytes(const TensorInfo& t) const;
  std::size_t file_size() const { return file_.size(); }

 private:
  std::filesystem::path path_;
  MappedFile file_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;  // sorted by name
  std::map<std::string, std::string> metadata_;
};

}  // namespace mmi::runtime
