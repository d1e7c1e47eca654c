// Where the committed fixtures are, and scratch folders for tests that write files.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#ifndef MMI_FIXTURES_DIR
#error "MMI_FIXTURES_DIR must point at models/qwen2_5_vl/fixtures"
#endif

namespace fixtures {

inline std::filesystem::path dir(const std::string& name) { return std::filesystem::path(MMI_FIXTURES_DIR) / name; }

// A fresh empty folder under the system temp dir, removed when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mmi-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace fixtures
