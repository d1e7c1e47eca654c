// libFuzzer target: a config.json (and, from the same bytes, a preprocessor_config.json) through the strict JSON
// parser and the Qwen2.5-VL config readers. Failure must be a typed Error (JsonError from the parser, Error from
// the readers); a config that is accepted must satisfy what the forward relies on
// (models/qwen2_5_vl/src/config.cpp): heads that divide the widths, M-RoPE sections that sum to half a head,
// special tokens inside the vocabulary, patch and window products that do not overflow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/preprocess.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/json.hpp"

namespace rt = mmi::runtime;
namespace qw = mmi::qwen2_5_vl;

namespace {

void check_config(const qw::Config& c) {
  const qw::VisionConfig& v = c.vision;
  const qw::TextConfig& t = c.text;
  FUZZ_CHECK(v.depth > 0 && v.hidden > 0 && v.heads > 0 && v.intermediate > 0);
  FUZZ_CHECK(v.head_dim * v.heads == v.hidden && v.head_dim % 4 == 0);
  FUZZ_CHECK(v.patch > 0 && v.temporal_patch > 0 && v.merge > 0 && v.window_cells() > 0);
  std::int64_t patch_dim = 0;
  FUZZ_CHECK(!__builtin_mul_overflow(v.in_channels * v.temporal_patch, v.patch * v.patch, &patch_dim));
  std::int64_t merged = 0;
  FUZZ_CHECK(!__builtin_mul_overflow(v.hidden, v.merge * v.merge, &merged));
  for (std::int64_t b : v.fullatt_blocks) FUZZ_CHECK(b >= 0 && b < v.depth);
  FUZZ_CHECK(t.vocab > 0 && t.layers > 0 && t.heads > 0 && t.kv_heads > 0);
  FUZZ_CHECK(t.head_dim * t.heads == t.hidden && t.head_dim % 2 == 0 && t.heads % t.kv_heads == 0);
  FUZZ_CHECK(t.mrope_section[0] + t.mrope_section[1] + t.mrope_section[2] == t.head_dim / 2);
  FUZZ_CHECK(t.rms_eps > 0 && t.rope_theta > 0);
  FUZZ_CHECK(v.out_hidden == t.hidden);
  for (std::int32_t id : {c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id}) {
    FUZZ_CHECK(id >= 0 && id < t.vocab);
  }
  for (std::int32_t id : c.eos_token_ids) FUZZ_CHECK(id >= 0 && id < t.vocab);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rt::Json root;
  try {
    root = rt::Json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const rt::JsonError&) {
    return 0;
  }
  try {
    check_config(qw::parse_config(root, "config.json"));
  } catch (const rt::Error&) {
  }
  try {
    const qw::PreprocessorConfig p = qw::parse_preprocessor_config(root, "preprocessor_config.json");
    FUZZ_CHECK(p.patch > 0 && p.temporal_patch > 0 && p.merge > 0);
    FUZZ_CHECK(p.min_pixels > 0 && p.min_pixels <= p.max_pixels);
    for (float s : p.std) FUZZ_CHECK(s > 0);
  } catch (const rt::Error&) {
  }
  return 0;
}
