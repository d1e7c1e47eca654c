// SHA-256 (FIPS 180-4), incremental: identifies config.json and calibration inputs in pattern files, and a
// search's settings in its checkpoint. Not for secrets. Hand-written because the hashing libraries at hand would
// clash with the OpenSSL that Node exports into the addon's process.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mmi::patterns::detail {

class Sha256 {
 public:
  Sha256();
  Sha256& update(const void* data, std::size_t size);
  Sha256& update(std::string_view text) { return update(text.data(), text.size()); }
  // Lowercase hex of the digest; the object must not be updated afterwards.
  std::string hex();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace mmi::patterns::detail
