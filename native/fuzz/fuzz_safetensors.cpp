// libFuzzer target: a safetensors file's bytes through the same checks SafetensorsFile::open makes. Failure must
// be a typed Error; success must keep the header's promises (native/runtime/include/mmi/runtime/safetensors.hpp):
// every tensor inside the bytes with the size its dtype and shape give, sorted unique names, no shared bytes. The
// bytes of each tensor are read, so a wrong bound shows as an AddressSanitizer report.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/safetensors.hpp"

namespace rt = mmi::runtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  rt::SafetensorsLayout layout;
  try {
    layout = rt::parse_safetensors(bytes, "fuzz.safetensors");
  } catch (const rt::Error&) {
    return 0;
  }
  FUZZ_CHECK(layout.data_start >= 8 && layout.data_start <= size);
  const std::uint64_t data_size = size - layout.data_start;
  std::uint64_t sum = 0;
  const rt::TensorInfo* prev = nullptr;
  for (const rt::TensorInfo& t : layout.tensors) {
    FUZZ_CHECK(t.begin <= t.end && t.end <= data_size);
    std::uint64_t numel = 1;
    for (std::int64_t d : t.shape) {
      FUZZ_CHECK(d >= 0);
      FUZZ_CHECK(!__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel));
    }
    FUZZ_CHECK(t.end - t.begin == numel * rt::dtype_size(t.dtype));
    FUZZ_CHECK(prev == nullptr || prev->name < t.name);
    prev = &t;
    sum += t.end - t.begin;
    if (t.end > t.begin) {
      volatile std::byte first = bytes[layout.data_start + t.begin];
      volatile std::byte last = bytes[layout.data_start + t.end - 1];
      (void)first;
      (void)last;
    }
  }
  // Tensors that share no bytes fit in the data section together.
  FUZZ_CHECK(sum <= data_size);
  return 0;
}
