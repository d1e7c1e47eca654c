// The Node addon's entry point: each area adds its functions to the exports.
#include <napi.h>

#include "addon_data.hpp"
#include "attention.hpp"
#include "index_wrap.hpp"
#include "mmi.h"
#include "model.hpp"
#include "patterns.hpp"

namespace mmi::addon {

AddonData& addon_data(Napi::Env env) {
  if (AddonData* data = env.GetInstanceData<AddonData>()) return *data;
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  return *data;
}

}  // namespace mmi::addon

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("apiVersion", Napi::Number::New(env, mmi_api_version()));
  exports.Set("defaultDenseBelowTokens",
              Napi::Number::New(env, static_cast<double>(mmi_default_dense_below_tokens())));
  mmi::addon::IndexWrap::define(env, exports);
  mmi::addon::define_attention(env, exports);
  mmi::addon::define_model(env, exports);
  mmi::addon::define_patterns(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mmi, init)
