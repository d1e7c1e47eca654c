// The model families the C API loads, and the one a model folder's config.json names: by model_type, else by an
// entry of architectures (docs/architecture.md §4). A family registers by its record in families.cpp.
#pragma once

#include <filesystem>
#include <span>

#include "mmi/runtime/video_model.hpp"

namespace mmi::capi {

std::span<const runtime::ModelFamily* const> families();

// Throws runtime::Error: FileNotFound / InvalidJson / ConfigInvalid for config.json itself, UnsupportedModel (or
// ConfigMissingKey when it has no model_type) naming what it says and the families there are, when none matches.
const runtime::ModelFamily& family_of(const std::filesystem::path& dir);

}  // namespace mmi::capi
