// Per-environment data of the addon (Node-API instance data has one slot): the constructors of its classes, so
// native results can be wrapped in them.
#pragma once

#include <napi.h>

namespace mmi::addon {

struct AddonData {
  Napi::FunctionReference index_class;
  Napi::FunctionReference model_class;
  Napi::FunctionReference encoder_class;
  Napi::FunctionReference video_class;
  Napi::FunctionReference session_class;
  Napi::FunctionReference patterns_class;
};

// The environment's AddonData, created on first use.
AddonData& addon_data(Napi::Env env);

}  // namespace mmi::addon
