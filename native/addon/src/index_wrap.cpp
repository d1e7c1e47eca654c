#include "index_wrap.hpp"

#include <algorithm>
#include <string>

#include "addon_data.hpp"
#include "args.hpp"
#include "job.hpp"

namespace mmi::addon {

namespace {

// Marks objects made by this addon's Index class (Node-API 8 type tags), so unwrap never trusts a look-alike.
constexpr napi_type_tag kIndexTag = {0x6d6d69696e646578ull, 0x1b9c3e2a77d54f01ull};

template <class TypedArray, class T>
TypedArray copy_out(Napi::Env env, const T* data, int64_t count) {
  TypedArray out = TypedArray::New(env, static_cast<size_t>(count));
  if (count > 0) std::copy(data, data + count, out.Data());
  return out;
}

}  // namespace

void IndexWrap::define(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "Index",
                                   {
                                       InstanceAccessor<&IndexWrap::heads>("heads"),
                                       InstanceAccessor<&IndexWrap::tokens>("tokens"),
                                       InstanceMethod<&IndexWrap::head>("head"),
                                       InstanceMethod<&IndexWrap::grid>("grid"),
                                       InstanceMethod<&IndexWrap::density>("density"),
                                       InstanceMethod<&IndexWrap::dispose>("dispose"),
                                   });
  addon_data(env).index_class = Napi::Persistent(cls);
  exports.Set("Index", cls);
}

Napi::Object IndexWrap::wrap(Napi::Env env, std::shared_ptr<mmi_index> index) {
  auto holder = std::make_unique<std::shared_ptr<mmi_index>>(std::move(index));
  const Napi::External<std::shared_ptr<mmi_index>> external = Napi::External<std::shared_ptr<mmi_index>>::New(
      env, holder.release(), [](Napi::Env, std::shared_ptr<mmi_index>* p) { delete p; });
  Napi::Object object = addon_data(env).index_class.New({external});
  object.TypeTag(&kIndexTag);
  return object;
}

IndexWrap::IndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IndexWrap>(info) {
  require_arg(info.Env(), info.Length() == 1 && info[0].IsExternal(),
              "Index objects come from estimateIndex or createIndex");
  index_ = *info[0].As<Napi::External<std::shared_ptr<mmi_index>>>().Data();
}

std::shared_ptr<mmi_index> IndexWrap::unwrap(Napi::Value value, const std::string& name) {
  const Napi::Env env = value.Env();
  require_arg(env, value.IsObject() && value.As<Napi::Object>().CheckTypeTag(&kIndexTag),
              name + " must be an index from estimateIndex or createIndex");
  return Unwrap(value.As<Napi::Object>())->live(env);
}

const std::shared_ptr<mmi_index>& IndexWrap::live(Napi::Env env) const {
  require_arg(env, index_ != nullptr, "the index was disposed");
  return index_;
}

Napi::Value IndexWrap::heads(const Napi::CallbackInfo& info) {
  int64_t heads = 0, tokens = 0;
  check(info.Env(), mmi_index_shape(live(info.Env()).get(), &heads, &tokens));
  return Napi::Number::New(info.Env(), static_cast<double>(heads));
}

Napi::Value IndexWrap::tokens(const Napi::CallbackInfo& info) {
  int64_t heads = 0, tokens = 0;
  check(info.Env(), mmi_index_shape(live(info.Env()).get(), &heads, &tokens));
  return Napi::Number::New(info.Env(), static_cast<double>(tokens));
}

Napi::Value IndexWrap::head(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  mmi_index_head_view v{};
  check(env, mmi_index_head(live(env).get(), int_arg(info[0], "head", 0, 65535), &v));
  const int64_t blocks = v.block_offsets[v.query_blocks], columns = v.column_offsets[v.query_blocks];
  Napi::Object out = Napi::Object::New(env);
  out.Set("tokens", static_cast<double>(v.tokens));
  out.Set("blockOffsets", copy_out<Napi::BigInt64Array>(env, v.block_offsets, v.query_blocks + 1));
  out.Set("blockIds", copy_out<Napi::Int32Array>(env, v.block_ids, blocks));
  out.Set("columnOffsets", copy_out<Napi::BigInt64Array>(env, v.column_offsets, v.query_blocks + 1));
  out.Set("columnIds", copy_out<Napi::Int32Array>(env, v.column_ids, columns));
  out.Set("rowPerm", v.row_perm ? copy_out<Napi::Int32Array>(env, v.row_perm, v.tokens).As<Napi::Value>() : env.Null());
  out.Set("colPerm", v.col_perm ? copy_out<Napi::Int32Array>(env, v.col_perm, v.tokens).As<Napi::Value>() : env.Null());
  return out;
}

Napi::Value IndexWrap::grid(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int64_t head = int_arg(info[0], "head", 0, 65535);
  int64_t count = 0;
  check(env, mmi_index_grid_count(live(env).get(), head, &count));
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    mmi_grid_choice g{};
    check(env, mmi_index_grid(live(env).get(), head, i, &g));
    out.Set(static_cast<uint32_t>(i), grid_choice_value(env, g));
  }
  return out;
}

Napi::Value IndexWrap::density(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int64_t head = int_arg(info[0], "head", 0, 65535);
  std::shared_ptr<mmi_index> index = live(env);
  auto result = std::make_shared<mmi_density>();
  return start_job(
      env, [index, head, result](const mmi_run_options*) { return mmi_index_density(index.get(), head, result.get()); },
      [result](Napi::Env e) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("computed", static_cast<double>(result->computed));
        o.Set("total", static_cast<double>(result->total));
        o.Set("value", result->value);
        return o.As<Napi::Value>();
      },
      {}, info[1], 0);
}

Napi::Value IndexWrap::dispose(const Napi::CallbackInfo& info) {
  index_.reset();
  return info.Env().Undefined();
}

}  // namespace mmi::addon
