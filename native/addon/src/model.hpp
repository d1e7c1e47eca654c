// The model runtime on the addon's exports: backendInfo(), loadModel() and the Model, Encoder, Video and Session
// classes (native/model.ts is their typed face).
#pragma once

#include <napi.h>

namespace mmi::addon {

void define_model(Napi::Env env, Napi::Object exports);

}  // namespace mmi::addon
