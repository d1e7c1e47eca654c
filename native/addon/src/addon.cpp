// The Node addon's entry point: each area adds its functions to the exports.
#include <napi.h>

#include "attention.hpp"
#include "index_wrap.hpp"
#include "mmi.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("apiVersion", Napi::Number::New(env, mmi_api_version()));
  mmi::addon::IndexWrap::define(env, exports);
  mmi::addon::define_attention(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mmi, init)
