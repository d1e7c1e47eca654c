// The offline pattern search on the addon's exports: searchPatterns (on a model and its calibration prompts),
// searchPatternsQk (on q/k given per layer) and plantedQkv (inputs with planted structure); native/patterns.ts is
// their typed face.
#pragma once

#include <napi.h>

namespace mmi::addon {

void define_patterns(Napi::Env env, Napi::Object exports);

}  // namespace mmi::addon
