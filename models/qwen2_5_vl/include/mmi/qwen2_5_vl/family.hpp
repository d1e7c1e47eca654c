// The Qwen2.5-VL family as the C API's registry knows it: the config.json values that name it and its loader.
#pragma once

#include "mmi/runtime/video_model.hpp"

namespace mmi::qwen2_5_vl {

const runtime::ModelFamily& family();

}  // namespace mmi::qwen2_5_vl
