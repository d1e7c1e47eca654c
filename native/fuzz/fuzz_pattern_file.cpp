// libFuzzer target: a pattern file's text (and a candidate list, from the same bytes) through the strict reader
// (native/patterns/src/pattern_reader.cpp). Failure must be a typed Error; a file that is accepted must survive
// the writer: serialize(parse(x)) parses again to an equal file and serializes to the same text, and every head's
// kernel configuration can be built for short and long prompts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"

namespace pt = mmi::patterns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)pt::parse_candidates(text);
  } catch (const pt::Error&) {
  }
  pt::PatternFile file;
  try {
    file = pt::parse_pattern_file(text, "fuzz.json");
  } catch (const pt::Error&) {
    return 0;
  }
  const std::string written = pt::serialize_pattern_file(file);
  pt::PatternFile again;
  try {
    again = pt::parse_pattern_file(written, "written.json");
  } catch (const pt::Error& e) {
    std::fprintf(stderr, "the writer's text does not parse: %s\n", e.what());
    std::abort();
  }
  FUZZ_CHECK(again == file);
  FUZZ_CHECK(pt::serialize_pattern_file(again) == written);
  for (std::int64_t n : {1, 1000, 1 << 20}) {
    try {
      FUZZ_CHECK(static_cast<std::int64_t>(pt::to_configs(file, n).size()) == file.model.layers * file.model.heads);
    } catch (const pt::Error&) {
    }
  }
  return 0;
}
