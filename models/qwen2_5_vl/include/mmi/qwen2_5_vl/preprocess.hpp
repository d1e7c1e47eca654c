// Video frames to the vision tower's input: rescale to [0, 1], normalise with the processor's mean/std, pad an
// odd frame count with the last frame, and lay 2×14×14 patches out in merge-block order (per temporal patch,
// merged cells in raster order, the 2×2 patches inside each cell in raster order), as the reference processor
// does. Frames arrive already sampled and resized (sides multiples of patch × merge).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mmi/runtime/json.hpp"
#include "mmi/runtime/video_model.hpp"

namespace mmi::qwen2_5_vl {

using runtime::GridTHW;

struct PreprocessorConfig {
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
  std::int64_t patch = 14;
  std::int64_t temporal_patch = 2;
  std::int64_t merge = 2;
  std::int64_t min_pixels = 3136;
  std::int64_t max_pixels = 12845056;
};

// Reads preprocessor_config.json (absent keys keep the defaults above); Errors name the file and key.
PreprocessorConfig read_preprocessor_config(const std::string& path);
// The same from parsed JSON; `path` names the file in errors.
PreprocessorConfig parse_preprocessor_config(const runtime::Json& root, const std::string& path);

// data: [grid.patches(), 3 · temporal_patch · patch · patch] in merge-block order.
using runtime::PixelValues;

// rgb: frames × height × width × 3 bytes. Error(InvalidInput) when the sizes do not fit the patch grid.
PixelValues patchify(const std::uint8_t* rgb, std::int64_t frames, std::int64_t height, std::int64_t width,
                     const PreprocessorConfig& config);

}  // namespace mmi::qwen2_5_vl
