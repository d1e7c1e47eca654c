// Next-token choice from logits: greedy (temperature 0) or temperature with top-k / top-p (nucleus) sampling.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "mmi/qwen2_5_vl/model.hpp"

namespace mmi::qwen2_5_vl {

std::int32_t sample_token(std::span<const float> logits, const DecodeOptions& options, std::mt19937_64& rng);

}  // namespace mmi::qwen2_5_vl
