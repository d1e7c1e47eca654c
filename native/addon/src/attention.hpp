// The attention core's functions on the addon's exports.
#pragma once

#include <napi.h>

namespace mmi::addon {

void define_attention(Napi::Env env, Napi::Object exports);

}  // namespace mmi::addon
