#include "args.hpp"

#include <cmath>
#include <string_view>

#include "job.hpp"

namespace mmi::addon {

namespace {

constexpr const char* kPatternNames[] = {"dense", "a_shape", "vertical_slash", "block_sparse",
                                         "grid",  "q_boundary", "two_d_boundary"};

}  // namespace

Napi::Object object_arg(Napi::Value v, const std::string& name) {
  require_arg(v.Env(), v.IsObject() && !v.IsArray(), name + " must be an object");
  return v.As<Napi::Object>();
}

int64_t int_arg(Napi::Value v, const std::string& name, int64_t lo, int64_t hi) {
  require_arg(v.Env(), v.IsNumber(), name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  require_arg(v.Env(), std::isfinite(d) && std::floor(d) == d, name + " must be an integer, got " + std::to_string(d));
  require_arg(v.Env(), d >= static_cast<double>(lo) && d <= static_cast<double>(hi),
              name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                  std::to_string(static_cast<int64_t>(d)));
  return static_cast<int64_t>(d);
}

int64_t int_field(Napi::Object o, const char* field, const std::string& name, int64_t lo, int64_t hi, int64_t fallback) {
  const Napi::Value v = o.Get(field);
  return v.IsUndefined() ? fallback : int_arg(v, name + "." + field, lo, hi);
}

double number_field(Napi::Object o, const char* field, const std::string& name, double fallback) {
  const Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  require_arg(o.Env(), v.IsNumber(), name + "." + field + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool bool_field(Napi::Object o, const char* field, const std::string& name, bool fallback) {
  const Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  require_arg(o.Env(), v.IsBoolean(), name + "." + field + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

int32_t threads_field(Napi::Object options) {
  return static_cast<int32_t>(int_field(options, "threads", "options", 0, 1024, 0));
}

int32_t device_field(Napi::Object options) {
  const Napi::Value v = options.Get("device");
  if (v.IsUndefined()) return MMI_DEVICE_AUTO;
  const std::string device = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (device == "auto") return MMI_DEVICE_AUTO;
  if (device == "cpu") return MMI_DEVICE_CPU;
  if (device == "gpu") return MMI_DEVICE_GPU;
  require_arg(options.Env(), false, "options.device must be 'auto', 'cpu' or 'gpu'");
  return MMI_DEVICE_AUTO;
}

const char* device_name(int32_t device) { return device == MMI_DEVICE_GPU ? "gpu" : "cpu"; }

mmi_tensor tensor_arg(Napi::Value v, const std::string& name, std::vector<Napi::Value>& keep) {
  const Napi::Env env = v.Env();
  const Napi::Object o = object_arg(v, name);
  const Napi::Value dtype_value = o.Get("dtype");
  require_arg(env, dtype_value.IsString(), name + ".dtype must be 'f32', 'f16' or 'bf16'");
  const std::string dtype = dtype_value.As<Napi::String>().Utf8Value();
  mmi_tensor t{};
  const Napi::Value data = o.Get("data");
  require_arg(env, data.IsTypedArray(), name + ".data must be a typed array");
  const Napi::TypedArray array = data.As<Napi::TypedArray>();
  require_arg(env, !array.ArrayBuffer().IsDetached(), name + ".data is detached");
  if (dtype == "f32") {
    require_arg(env, array.TypedArrayType() == napi_float32_array, name + ".data must be a Float32Array for f32");
    t.dtype = MMI_F32;
    t.data = array.As<Napi::Float32Array>().Data();
  } else if (dtype == "f16" || dtype == "bf16") {
    require_arg(env, array.TypedArrayType() == napi_uint16_array,
                name + ".data must be a Uint16Array of raw " + dtype + " bits");
    t.dtype = dtype == "f16" ? MMI_F16 : MMI_BF16;
    t.data = array.As<Napi::Uint16Array>().Data();
  } else {
    require_arg(env, false, name + ".dtype must be 'f32', 'f16' or 'bf16', got '" + dtype + "'");
  }
  t.heads = int_field(o, "heads", name, 1, 65536, 0);
  t.tokens = int_field(o, "tokens", name, 1, (int64_t{1} << 31) - 1, 0);
  t.dim = int_field(o, "dim", name, 1, 256, 0);
  require_arg(env, t.heads > 0 && t.tokens > 0 && t.dim > 0, name + " needs heads, tokens and dim");
  t.length = static_cast<int64_t>(array.ElementLength());
  keep.push_back(data);
  return t;
}

std::vector<mmi_segment> segments_arg(Napi::Value v, const std::string& name) {
  const Napi::Env env = v.Env();
  require_arg(env, v.IsArray(), name + " must be an array of segments");
  const Napi::Array array = v.As<Napi::Array>();
  std::vector<mmi_segment> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string who = name + "[" + std::to_string(i) + "]";
    const Napi::Object s = object_arg(array.Get(i), who);
    const Napi::Value kind = s.Get("kind");
    const std::string k = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
    constexpr int64_t big = int64_t{1} << 40;  // the C API gives the precise limits and messages
    if (k == "text") {
      out.push_back(mmi_segment{MMI_TEXT, int_field(s, "tokens", who, -big, big, 0), 0, 0, 0});
    } else if (k == "video") {
      out.push_back(mmi_segment{MMI_VIDEO, 0, int_field(s, "t", who, -big, big, 0), int_field(s, "h", who, -big, big, 0),
                                int_field(s, "w", who, -big, big, 0)});
    } else {
      require_arg(env, false, who + ".kind must be 'text' or 'video'");
    }
  }
  return out;
}

Napi::Array segments_value(Napi::Env env, const mmi_segment* segments, int64_t count) {
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const mmi_segment& s = segments[i];
    Napi::Object o = Napi::Object::New(env);
    if (s.modality == MMI_TEXT) {
      o.Set("kind", "text");
      o.Set("tokens", static_cast<double>(s.tokens));
    } else {
      o.Set("kind", "video");
      o.Set("t", static_cast<double>(s.t));
      o.Set("h", static_cast<double>(s.h));
      o.Set("w", static_cast<double>(s.w));
    }
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

namespace {

mmi_vs_budget budget_field(Napi::Object o, const char* field, const std::string& name, mmi_vs_budget fallback) {
  const Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  const std::string who = name + "." + field;
  const Napi::Object b = object_arg(v, who);
  constexpr int64_t big = int64_t{1} << 40;
  return mmi_vs_budget{int_field(b, "vertical", who, -big, big, fallback.vertical),
                       int_field(b, "slash", who, -big, big, fallback.slash)};
}

Napi::Object budget_value(Napi::Env env, const mmi_vs_budget& b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("vertical", static_cast<double>(b.vertical));
  o.Set("slash", static_cast<double>(b.slash));
  return o;
}

}  // namespace

mmi_pattern pattern_arg(Napi::Value v, const std::string& name) {
  const Napi::Env env = v.Env();
  const Napi::Object o = object_arg(v, name);
  const Napi::Value kind = o.Get("kind");
  const std::string k = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
  int32_t id = -1;
  for (int32_t i = 0; i < 7; ++i) {
    if (k == kPatternNames[i]) id = i;
  }
  require_arg(env, id >= 0, name + ".kind must be one of dense, a_shape, vertical_slash, block_sparse, grid, "
                                   "q_boundary, two_d_boundary");
  mmi_pattern p{};
  if (mmi_pattern_defaults(id, &p) != MMI_OK) throw make_error(env, MMI_INTERNAL, mmi_last_error());
  constexpr int64_t big = int64_t{1} << 40;
  p.sink_tokens = int_field(o, "sinkTokens", name, -big, big, p.sink_tokens);
  p.local_tokens = int_field(o, "localTokens", name, -big, big, p.local_tokens);
  p.top_k_blocks = int_field(o, "topKBlocks", name, -big, big, p.top_k_blocks);
  p.grid_lines = int_field(o, "gridLines", name, -big, big, p.grid_lines);
  p.vertical_slash = budget_field(o, "verticalSlash", name, p.vertical_slash);
  p.text_rows = budget_field(o, "textRows", name, p.text_rows);
  p.video_rows = budget_field(o, "videoRows", name, p.video_rows);
  p.text_to_text = budget_field(o, "textToText", name, p.text_to_text);
  p.text_to_video = budget_field(o, "textToVideo", name, p.text_to_video);
  p.video_to_text = budget_field(o, "videoToText", name, p.video_to_text);
  p.video_to_video = budget_field(o, "videoToVideo", name, p.video_to_video);
  return p;
}

Napi::Object pattern_value(Napi::Env env, const mmi_pattern& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", kPatternNames[p.kind]);
  o.Set("sinkTokens", static_cast<double>(p.sink_tokens));
  o.Set("localTokens", static_cast<double>(p.local_tokens));
  o.Set("verticalSlash", budget_value(env, p.vertical_slash));
  o.Set("topKBlocks", static_cast<double>(p.top_k_blocks));
  o.Set("gridLines", static_cast<double>(p.grid_lines));
  o.Set("textRows", budget_value(env, p.text_rows));
  o.Set("videoRows", budget_value(env, p.video_rows));
  o.Set("textToText", budget_value(env, p.text_to_text));
  o.Set("textToVideo", budget_value(env, p.text_to_video));
  o.Set("videoToText", budget_value(env, p.video_to_text));
  o.Set("videoToVideo", budget_value(env, p.video_to_video));
  return o;
}

Napi::Object grid_choice_value(Napi::Env env, const mmi_grid_choice& g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("start", static_cast<double>(g.start));
  o.Set("length", static_cast<double>(g.length));
  o.Set("stride", static_cast<double>(g.stride));
  o.Set("prior", static_cast<double>(g.prior));
  o.Set("score", g.score);
  Napi::Array phases = Napi::Array::New(env, static_cast<size_t>(g.phase_count));
  for (int64_t p = 0; p < g.phase_count; ++p) phases.Set(static_cast<uint32_t>(p), static_cast<double>(g.phases[p]));
  o.Set("phases", phases);
  return o;
}

const char* pattern_kind_name(int32_t kind) { return kind >= 0 && kind < 7 ? kPatternNames[kind] : "unknown"; }

Napi::Float32Array output_arg(Napi::Env env, Napi::Value v, int64_t length, std::vector<Napi::Value>& keep) {
  Napi::Float32Array out;
  if (v.IsUndefined() || v.IsNull()) {
    require_arg(env, length <= (int64_t{1} << 32), "the output would hold more than 2^32 floats");
    out = Napi::Float32Array::New(env, static_cast<size_t>(length));
  } else {
    require_arg(env, v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
                "out must be a Float32Array");
    out = v.As<Napi::Float32Array>();
    require_arg(env, !out.ArrayBuffer().IsDetached(), "out is detached");
    require_arg(env, static_cast<int64_t>(out.ElementLength()) == length,
                "out holds " + std::to_string(out.ElementLength()) + " floats, expected " + std::to_string(length));
  }
  keep.push_back(out);
  return out;
}

}  // namespace mmi::addon
