// The JS face of an mmi_index: heads/tokens, per-head export (copies into new typed arrays), grid choices,
// density (async), dispose. Running jobs share ownership, so disposing or collecting the JS object while a job
// reads the index is safe.
#pragma once

#include <memory>
#include <napi.h>

#include "mmi.h"

namespace mmi::addon {

class IndexWrap : public Napi::ObjectWrap<IndexWrap> {
 public:
  static void define(Napi::Env env, Napi::Object exports);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<mmi_index> index);
  // The index behind a JS value; throws MMI_INVALID_ARGUMENT naming `name` for anything else or a disposed index.
  static std::shared_ptr<mmi_index> unwrap(Napi::Value value, const std::string& name);

  explicit IndexWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value heads(const Napi::CallbackInfo& info);
  Napi::Value tokens(const Napi::CallbackInfo& info);
  Napi::Value head(const Napi::CallbackInfo& info);
  Napi::Value grid(const Napi::CallbackInfo& info);
  Napi::Value density(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  const std::shared_ptr<mmi_index>& live(Napi::Env env) const;

  std::shared_ptr<mmi_index> index_;
};

}  // namespace mmi::addon
