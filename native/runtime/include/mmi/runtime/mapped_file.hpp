// A read-only memory-mapped file (RAII). Weights are used in place from the mapping.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace mmi::runtime {

class MappedFile {
 public:
  // Throws Error(FileNotFound / FileUnreadable) naming the file.
  static MappedFile open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
  std::size_t size() const { return size_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mmi::runtime
