// The model runtime on the addon's exports: backendInfo(), loadModel() and the Model, Encoder, Video and Session
// classes (native/model.ts is their typed face).
#pragma once

#include <memory>
#include <napi.h>
#include <string>

#include "mmi.h"

namespace mmi::addon {

void define_model(Napi::Env env, Napi::Object exports);

// The native handles behind a Model or Video object this addon made (throws MMI_INVALID_ARGUMENT naming `name`
// otherwise), for the other areas of the addon that take them: jobs hold them while they run.
std::shared_ptr<mmi_model> model_handle(Napi::Value value, const std::string& name);
std::shared_ptr<mmi_video> video_handle(Napi::Value value, const std::string& name);

}  // namespace mmi::addon
