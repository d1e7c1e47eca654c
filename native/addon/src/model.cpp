#include "model.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "addon_data.hpp"
#include "args.hpp"
#include "job.hpp"
#include "mmi.h"

namespace mmi::addon {

namespace {

// Native objects shared between their JS wrapper and the jobs that use them: disposing or collecting a wrapper
// while a job runs is safe. Members are destroyed in reverse order, so a session or encoder always goes before the
// model it was made from.
using ModelPtr = std::shared_ptr<mmi_model>;
using VideoPtr = std::shared_ptr<mmi_video>;
using PatternFilePtr = std::shared_ptr<mmi_pattern_file>;

struct SessionHandle {
  ModelPtr model;
  std::unique_ptr<mmi_session, decltype(&mmi_session_destroy)> session{nullptr, mmi_session_destroy};
  bool busy = false;  // a job runs on it (JS thread only)
};

struct EncoderHandle {
  ModelPtr model;
  std::shared_ptr<mmi_cancel> cancel;
  std::unique_ptr<mmi_encoder, decltype(&mmi_encoder_destroy)> encoder{nullptr, mmi_encoder_destroy};
  bool busy = false;
};

// Node-API 8 type tags: unwrap never trusts an object this addon did not make.
constexpr napi_type_tag kModelTag = {0x6d6d696d6f64656cull, 0x3c5a9e1d0b7f4a21ull};
constexpr napi_type_tag kEncoderTag = {0x6d6d69656e636f64ull, 0x8e2b4f6a1c3d5e70ull};
constexpr napi_type_tag kVideoTag = {0x6d6d69766964656full, 0x51f0a2c4e6b8d093ull};
constexpr napi_type_tag kSessionTag = {0x6d6d692073657373ull, 0x2d4c6e8fa1b3c5e7ull};
constexpr napi_type_tag kPatternsTag = {0x6d6d697061747466ull, 0x7e9d1b3f5a2c4e60ull};

// One JS class (Derived) around a shared native handle T, made only from native results (an External argument).
template <class Derived, class T, const napi_type_tag* Tag>
class Wrap : public Napi::ObjectWrap<Derived> {
 public:
  explicit Wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
    require_arg(info.Env(), info.Length() == 1 && info[0].IsExternal(), "this object comes from the engine only");
    handle_ = *info[0].As<Napi::External<std::shared_ptr<T>>>().Data();
  }

  static Napi::Object make(Napi::FunctionReference& cls, Napi::Env env, std::shared_ptr<T> handle) {
    auto holder = std::make_unique<std::shared_ptr<T>>(std::move(handle));
    const auto external = Napi::External<std::shared_ptr<T>>::New(env, holder.release(),
                                                                  [](Napi::Env, std::shared_ptr<T>* p) { delete p; });
    Napi::Object object = cls.New({external});
    object.TypeTag(Tag);
    return object;
  }

  static const std::shared_ptr<T>& unwrap(Napi::Value value, const std::string& name, const char* what) {
    const Napi::Env env = value.Env();
    require_arg(env, value.IsObject() && value.As<Napi::Object>().CheckTypeTag(Tag),
                name + " must be " + what + " made by the engine");
    return Napi::ObjectWrap<Derived>::Unwrap(value.As<Napi::Object>())->live(env, what);
  }

  const std::shared_ptr<T>& live(Napi::Env env, const char* what) const {
    require_arg(env, handle_ != nullptr, std::string("the ") + what + " was disposed");
    return handle_;
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    handle_.reset();
    return info.Env().Undefined();
  }

 protected:
  std::shared_ptr<T> handle_;
};

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t at, const char* name) {
  return info[at].IsUndefined() || info[at].IsNull() ? Napi::Object::New(info.Env()) : object_arg(info[at], name);
}

Napi::Value field_or_undefined(Napi::Object o, const char* field) { return o.Has(field) ? o.Get(field) : o.Env().Undefined(); }

Napi::Array strings(Napi::Env env, const char* const* items, int64_t count) {
  Napi::Array a = Napi::Array::New(env, static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, items[i]));
  return a;
}

Napi::Object session_state(Napi::Env env, const mmi_session* session) {
  mmi_session_state s{};
  check(env, mmi_session_state_get(session, &s));
  std::vector<mmi_segment> segments(static_cast<size_t>(s.segments));
  int64_t count = 0;
  check(env, mmi_session_layout(session, segments.data(), s.segments, &count));
  Napi::Object o = Napi::Object::New(env);
  o.Set("length", static_cast<double>(s.length));
  o.Set("nextPosition", static_cast<double>(s.next_position));
  o.Set("layout", segments_value(env, segments.data(), count));
  return o;
}

// ---- Video ------------------------------------------------------------------------------------------------------

class VideoWrap : public Wrap<VideoWrap, mmi_video, &kVideoTag> {
 public:
  using Wrap::Wrap;
  static void define(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Video",
                                     {InstanceMethod<&VideoWrap::info_of>("info"),
                                      InstanceMethod<&VideoWrap::features>("features"),
                                      InstanceMethod("dispose", &VideoWrap::dispose)});
    addon_data(env).video_class = Napi::Persistent(cls);
    exports.Set("Video", cls);
  }

 private:
  mmi_video_info get(Napi::Env env) const {
    mmi_video_info i{};
    check(env, mmi_video_info_get(live(env, "video").get(), &i));
    return i;
  }
  // { t, h, w, tokens, hidden }: the grid in patches and the <|video_pad|> tokens it fills.
  Napi::Value info_of(const Napi::CallbackInfo& info) {
    const mmi_video_info i = get(info.Env());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("t", static_cast<double>(i.t));
    o.Set("h", static_cast<double>(i.h));
    o.Set("w", static_cast<double>(i.w));
    o.Set("tokens", static_cast<double>(i.tokens));
    o.Set("hidden", static_cast<double>(i.hidden));
    return o;
  }
  // A copy of the features [tokens, hidden].
  Napi::Value features(const Napi::CallbackInfo& info) {
    const mmi_video_info i = get(info.Env());
    const auto n = static_cast<size_t>(i.tokens * i.hidden);
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), n);
    std::copy_n(i.features, n, out.Data());
    return out;
  }
};

// ---- Encoder ----------------------------------------------------------------------------------------------------

class EncoderWrap : public Wrap<EncoderWrap, EncoderHandle, &kEncoderTag> {
 public:
  using Wrap::Wrap;
  static void define(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Encoder",
                                     {InstanceMethod<&EncoderWrap::push>("push"),
                                      InstanceMethod<&EncoderWrap::finish>("finish"),
                                      InstanceMethod<&EncoderWrap::cancel>("cancel"),
                                      InstanceMethod("dispose", &EncoderWrap::dispose)});
    addon_data(env).encoder_class = Napi::Persistent(cls);
    exports.Set("Encoder", cls);
  }

 private:
  const std::shared_ptr<EncoderHandle>& claim(Napi::Env env) {
    const auto& h = live(env, "encoder");
    require_arg(env, !h->busy, "the encoder is busy: wait for its last push");
    return h;
  }

  static JobSpec spec_for(const std::shared_ptr<EncoderHandle>& h, Napi::Value on_progress) {
    h->busy = true;
    return JobSpec{on_progress, {}, 0, h->cancel, [h] { h->busy = false; }};
  }

  // push(rgb: Uint8Array, frames, onProgress?) -> job<undefined>; rgb is read in place until it settles.
  Napi::Value push(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    require_arg(env, info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array,
                "rgb must be a Uint8Array");
    const Napi::Uint8Array rgb = info[0].As<Napi::Uint8Array>();
    const int64_t frames = int_arg(info[1], "frames", 0, (int64_t{1} << 31) - 1);
    const auto& h = claim(env);
    const uint8_t* data = rgb.Data();
    const auto length = static_cast<int64_t>(rgb.ElementLength());
    std::shared_ptr<EncoderHandle> handle = h;
    return start_job(
        env,
        [handle, data, length, frames](const mmi_run_options* run, JobEvents&) {
          return mmi_encoder_push(handle->encoder.get(), data, length, frames, run);
        },
        [](Napi::Env e) { return e.Undefined(); }, {rgb}, spec_for(h, info[2]));
  }

  // finish(onProgress?) -> job<Video>
  Napi::Value finish(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const auto& h = claim(env);
    std::shared_ptr<EncoderHandle> handle = h;
    auto slot = std::make_shared<VideoPtr>();
    return start_job(
        env,
        [handle, slot](const mmi_run_options* run, JobEvents&) {
          mmi_video* video = nullptr;
          const mmi_status s = mmi_encoder_finish(handle->encoder.get(), run, &video);
          *slot = VideoPtr(video, mmi_video_destroy);
          return s;
        },
        [slot](Napi::Env e) -> Napi::Value { return VideoWrap::make(addon_data(e).video_class, e, *slot); }, {},
        spec_for(h, info[0]));
  }

  // Stops the running push or finish; the encoder is spent afterwards.
  Napi::Value cancel(const Napi::CallbackInfo& info) {
    if (handle_) mmi_cancel_request(handle_->cancel.get());
    return info.Env().Undefined();
  }
};

// ---- Pattern files ----------------------------------------------------------------------------------------------

class PatternFileWrap : public Wrap<PatternFileWrap, mmi_pattern_file, &kPatternsTag> {
 public:
  using Wrap::Wrap;
  static void define(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "PatternFile",
                                     {InstanceMethod<&PatternFileWrap::kinds>("kinds"),
                                      InstanceMethod("dispose", &PatternFileWrap::dispose)});
    addon_data(env).patterns_class = Napi::Persistent(cls);
    exports.Set("PatternFile", cls);
  }

 private:
  // kinds(layers, heads) -> string[] of pattern names, [layer · heads + head]
  Napi::Value kinds(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const int64_t layers = int_arg(info[0], "layers", 1, 1 << 16);
    const int64_t heads = int_arg(info[1], "heads", 1, 1 << 16);
    std::vector<int32_t> kinds(static_cast<size_t>(layers * heads));
    check(env, mmi_pattern_file_kinds(live(env, "pattern file").get(), kinds.data(), layers * heads));
    Napi::Array out = Napi::Array::New(env, kinds.size());
    for (size_t i = 0; i < kinds.size(); ++i) out.Set(static_cast<uint32_t>(i), pattern_kind_name(kinds[i]));
    return out;
  }
};

// Copies of what the pattern layer's callbacks hand over (valid only during the call), for the JS thread.
Napi::Object report_value(Napi::Env env, const mmi_head_report& r) {
  static constexpr const char* reasons[] = {"none",         "no_pattern_file", "pattern_is_dense",
                                            "short_prompt", "recall_floor",    "continued_queries"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("layer", static_cast<double>(r.layer));
  o.Set("head", static_cast<double>(r.head));
  o.Set("planned", pattern_kind_name(r.planned));
  o.Set("applied", pattern_kind_name(r.applied));
  o.Set("denseReason", r.dense_reason >= 0 && r.dense_reason < 6 ? reasons[r.dense_reason] : "none");
  o.Set("queries", static_cast<double>(r.queries));
  o.Set("keys", static_cast<double>(r.keys));
  o.Set("density", r.density);
  o.Set("recall", r.recall < 0 ? env.Null() : Napi::Number::New(env, r.recall));
  o.Set("estimationMs", r.estimation_ms);
  o.Set("attentionMs", r.attention_ms);
  return o;
}

struct HeatmapCopy {
  mmi_head_heatmap head{};  // its pointers are not used after the callback
  std::vector<float> mass, mass_permuted, mask, mask_permuted;
  std::vector<int32_t> row_samples, row_samples_permuted;
  std::vector<int64_t> rows;
  struct Grid {
    mmi_grid_choice choice;
    std::vector<int64_t> phases;
  };
  std::vector<Grid> grid;

  explicit HeatmapCopy(const mmi_head_heatmap& h) : head(h) {
    const auto cells = static_cast<size_t>(h.grid * h.grid);
    const auto bins = static_cast<size_t>(h.grid);
    mass.assign(h.mass, h.mass + cells);
    mass_permuted.assign(h.mass_permuted, h.mass_permuted + cells);
    mask.assign(h.mask, h.mask + cells);
    mask_permuted.assign(h.mask_permuted, h.mask_permuted + cells);
    row_samples.assign(h.row_samples, h.row_samples + bins);
    row_samples_permuted.assign(h.row_samples_permuted, h.row_samples_permuted + bins);
    rows.assign(h.rows, h.rows + h.row_count);
    for (int64_t i = 0; i < h.grid_choice_count; ++i) {
      const mmi_grid_choice& g = h.grid_choices[i];
      grid.push_back({g, std::vector<int64_t>(g.phases, g.phases + g.phase_count)});
      grid.back().choice.phases = grid.back().phases.data();  // moving the vector keeps its buffer
    }
  }

  template <class A, class T>
  static A array(Napi::Env env, const std::vector<T>& v) {
    A a = A::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  }

  Napi::Object value(Napi::Env env) const {
    Napi::Object o = Napi::Object::New(env);
    o.Set("layer", static_cast<double>(head.layer));
    o.Set("head", static_cast<double>(head.head));
    o.Set("tokens", static_cast<double>(head.tokens));
    o.Set("pattern", pattern_kind_name(head.pattern));
    o.Set("grid", static_cast<double>(head.grid));
    o.Set("mass", array<Napi::Float32Array>(env, mass));
    o.Set("massPermuted", array<Napi::Float32Array>(env, mass_permuted));
    o.Set("mask", array<Napi::Float32Array>(env, mask));
    o.Set("maskPermuted", array<Napi::Float32Array>(env, mask_permuted));
    o.Set("rowSamples", array<Napi::Int32Array>(env, row_samples));
    o.Set("rowSamplesPermuted", array<Napi::Int32Array>(env, row_samples_permuted));
    Napi::Array r = Napi::Array::New(env, rows.size());
    for (size_t i = 0; i < rows.size(); ++i) r.Set(static_cast<uint32_t>(i), static_cast<double>(rows[i]));
    o.Set("rows", r);
    o.Set("recall", head.recall);
    o.Set("coverage", head.coverage);
    Napi::Array choices = Napi::Array::New(env, grid.size());
    for (size_t i = 0; i < grid.size(); ++i) choices.Set(static_cast<uint32_t>(i), grid_choice_value(env, grid[i].choice));
    o.Set("gridChoices", choices);
    return o;
  }
};

// The attention part of a pre-fill's input, read on the JS thread: the pattern file it holds and the heatmap heads.
struct AttentionArgs {
  PatternFilePtr patterns;
  std::vector<int64_t> heatmap_heads;  // pairs
  mmi_attention_options options{};
};

std::shared_ptr<AttentionArgs> attention_arg(Napi::Value v) {
  const Napi::Env env = v.Env();
  const Napi::Object o = object_arg(v, "input.attention");
  auto a = std::make_shared<AttentionArgs>();
  const Napi::Value file = o.Get("patterns");
  if (!file.IsUndefined() && !file.IsNull()) a->patterns = PatternFileWrap::unwrap(file, "input.attention.patterns", "a pattern file");
  mmi_attention_options& opt = a->options;
  opt.dense_below_tokens = int_field(o, "denseBelowTokens", "input.attention", 0, int64_t{1} << 40, -1);
  opt.recall_floor = number_field(o, "recallFloor", "input.attention", 0.0);
  require_arg(env, opt.recall_floor >= 0.0 && opt.recall_floor <= 1.0, "input.attention.recallFloor must be in [0, 1]");
  opt.recall_samples = int_field(o, "recallSamples", "input.attention", 0, 1 << 20, 0);
  const Napi::Value maps = o.Get("heatmaps");
  if (!maps.IsUndefined() && !maps.IsNull()) {
    const Napi::Object m = object_arg(maps, "input.attention.heatmaps");
    const Napi::Value heads = m.Get("heads");
    require_arg(env, heads.IsArray(), "input.attention.heatmaps.heads must be an array of { layer, head }");
    const Napi::Array list = heads.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const std::string name = "input.attention.heatmaps.heads[" + std::to_string(i) + "]";
      const Napi::Object ref = object_arg(list.Get(i), name);
      a->heatmap_heads.push_back(int_field(ref, "layer", name, 0, 1 << 16, -1));
      a->heatmap_heads.push_back(int_field(ref, "head", name, 0, 1 << 16, -1));
      require_arg(env, a->heatmap_heads.back() >= 0 && a->heatmap_heads[a->heatmap_heads.size() - 2] >= 0,
                  name + " needs layer and head");
    }
    opt.heatmap_grid = int_field(m, "grid", "input.attention.heatmaps", 1, 4096, 0);
    opt.heatmap_samples = int_field(m, "samples", "input.attention.heatmaps", 1, 1 << 20, 0);
  }
  return a;
}

// ---- Session ----------------------------------------------------------------------------------------------------

class SessionWrap : public Wrap<SessionWrap, SessionHandle, &kSessionTag> {
 public:
  using Wrap::Wrap;
  static void define(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Session",
                                     {InstanceMethod<&SessionWrap::prefill>("prefill"),
                                      InstanceMethod<&SessionWrap::decode>("decode"),
                                      InstanceMethod<&SessionWrap::state>("state"),
                                      InstanceMethod<&SessionWrap::rewind>("rewind"),
                                      InstanceMethod("dispose", &SessionWrap::dispose)});
    addon_data(env).session_class = Napi::Persistent(cls);
    exports.Set("Session", cls);
  }

 private:
  const std::shared_ptr<SessionHandle>& claim(Napi::Env env) {
    const auto& h = live(env, "session");
    require_arg(env, !h->busy, "the session is busy: wait for its pre-fill or decode to end");
    return h;
  }

  // prefill({ ids: Int32Array, positions?: BigInt64Array (3 rows), videos?: Video[], attention?: { patterns?,
  //   denseBelowTokens?, recallFloor?, recallSamples?, heatmaps?: { heads: [{ layer, head }], grid?, samples? } } },
  //   { onProgress?, onHead?, onHeatmap? }) -> job<{ logits: Float32Array, length, nextPosition, layout }>
  Napi::Value prefill(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const Napi::Object input = object_arg(info[0], "input");
    const Napi::Object events = options_arg(info, 1, "events");
    const Napi::Value ids_value = input.Get("ids");
    require_arg(env,
                ids_value.IsTypedArray() && ids_value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
                "input.ids must be an Int32Array");
    const Napi::Int32Array ids_array = ids_value.As<Napi::Int32Array>();
    auto ids = std::make_shared<std::vector<int32_t>>(ids_array.Data(), ids_array.Data() + ids_array.ElementLength());
    auto positions = std::make_shared<std::vector<int64_t>>();
    const Napi::Value pos_value = input.Get("positions");
    if (!pos_value.IsUndefined() && !pos_value.IsNull()) {
      require_arg(env,
                  pos_value.IsTypedArray() &&
                      pos_value.As<Napi::TypedArray>().TypedArrayType() == napi_bigint64_array,
                  "input.positions must be a BigInt64Array (3 rows of ids.length)");
      const auto p = pos_value.As<Napi::TypedArrayOf<int64_t>>();
      positions->assign(p.Data(), p.Data() + p.ElementLength());
    }
    auto videos = std::make_shared<std::vector<VideoPtr>>();
    const Napi::Value videos_value = input.Get("videos");
    if (!videos_value.IsUndefined() && !videos_value.IsNull()) {
      require_arg(env, videos_value.IsArray(), "input.videos must be an array of Video");
      const Napi::Array a = videos_value.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        videos->push_back(VideoWrap::unwrap(a.Get(i), "input.videos[" + std::to_string(i) + "]", "a video"));
      }
    }
    std::shared_ptr<AttentionArgs> attention;
    const Napi::Value attention_value = input.Get("attention");
    if (!attention_value.IsUndefined() && !attention_value.IsNull()) attention = attention_arg(attention_value);
    const auto& h = claim(env);
    std::shared_ptr<SessionHandle> handle = h;
    mmi_model_info mi{};
    check(env, mmi_model_info_get(h->model.get(), &mi));
    auto logits = std::make_shared<std::vector<float>>(static_cast<size_t>(mi.vocab));
    h->busy = true;
    return start_job(
        env,
        [handle, ids, positions, videos, logits, attention](const mmi_run_options* run, JobEvents& events) {
          std::vector<const mmi_video*> vs;
          for (const auto& v : *videos) vs.push_back(v.get());
          mmi_attention_options options{};
          if (attention) {
            options = attention->options;
            options.patterns = attention->patterns.get();
            options.heatmap_heads = attention->heatmap_heads.data();
            options.heatmap_count = static_cast<int64_t>(attention->heatmap_heads.size() / 2);
            options.user = &events;
            options.on_head = [](void* user, const mmi_head_report* r) {
              static_cast<JobEvents*>(user)->post(0, [copy = *r](Napi::Env e) {
                return std::vector<napi_value>{report_value(e, copy)};
              });
            };
            options.on_heatmap = [](void* user, const mmi_head_heatmap* h) {
              static_cast<JobEvents*>(user)->post(1, [copy = std::make_shared<HeatmapCopy>(*h)](Napi::Env e) {
                return std::vector<napi_value>{copy->value(e)};
              });
            };
          }
          const mmi_prefill_input in{ids->data(),
                                     static_cast<int64_t>(ids->size()),
                                     positions->empty() ? nullptr : positions->data(),
                                     static_cast<int64_t>(positions->size()),
                                     vs.data(),
                                     static_cast<int64_t>(vs.size()),
                                     attention ? &options : nullptr};
          return mmi_session_prefill(handle->session.get(), &in, run, logits->data(),
                                     static_cast<int64_t>(logits->size()));
        },
        [handle, logits](Napi::Env e) -> Napi::Value {
          Napi::Object o = session_state(e, handle->session.get());
          Napi::Float32Array l = Napi::Float32Array::New(e, logits->size());
          std::copy(logits->begin(), logits->end(), l.Data());
          o.Set("logits", l);
          return o;
        },
        {},
        JobSpec{field_or_undefined(events, "onProgress"),
                {field_or_undefined(events, "onHead"), field_or_undefined(events, "onHeatmap")}, 0, nullptr,
                [handle] { handle->busy = false; }});
  }

  // decode({ maxTokens, temperature?, topP?, topK?, seed?, stopIds? }, { onToken?, onProgress? })
  //   -> job<{ tokens: Int32Array, stop: 'stop_token' | 'max_tokens' | 'caller', length, nextPosition, layout }>
  Napi::Value decode(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const Napi::Object options = object_arg(info[0], "options");
    const Napi::Object events = options_arg(info, 1, "events");
    const int64_t max_tokens = int_field(options, "maxTokens", "options", 1, (int64_t{1} << 31) - 1, 256);
    const double temperature = number_field(options, "temperature", "options", 0.0);
    const double top_p = number_field(options, "topP", "options", 1.0);
    const int64_t top_k = int_field(options, "topK", "options", 0, int64_t{1} << 31, 0);
    const int64_t seed = int_field(options, "seed", "options", 0, int64_t{1} << 53, 0);
    auto stop_ids = std::make_shared<std::vector<int32_t>>();
    const Napi::Value stops = options.Get("stopIds");
    if (!stops.IsUndefined()) {
      require_arg(env, stops.IsArray(), "options.stopIds must be an array of token ids");
      const Napi::Array a = stops.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        stop_ids->push_back(static_cast<int32_t>(
            int_arg(a.Get(i), "options.stopIds[" + std::to_string(i) + "]", 0, (int64_t{1} << 31) - 1)));
      }
    }
    const auto& h = claim(env);
    std::shared_ptr<SessionHandle> handle = h;
    auto tokens = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(max_tokens));
    auto result = std::make_shared<mmi_decode_result>();
    h->busy = true;
    return start_job(
        env,
        [=](const mmi_run_options* run, JobEvents& ev) {
          const mmi_decode_options o{max_tokens,
                                     static_cast<float>(temperature),
                                     static_cast<float>(top_p),
                                     top_k,
                                     static_cast<uint64_t>(seed),
                                     stop_ids->data(),
                                     static_cast<int64_t>(stop_ids->size())};
          const mmi_token_fn each = [](void* user, int32_t token) -> int32_t {
            static_cast<JobEvents*>(user)->post(0, [token](Napi::Env e) {
              return std::vector<napi_value>{Napi::Number::New(e, token)};
            });
            return 1;
          };
          return mmi_session_decode(handle->session.get(), &o, each, &ev, run, tokens->data(),
                                    static_cast<int64_t>(tokens->size()), result.get());
        },
        [handle, tokens, result](Napi::Env e) -> Napi::Value {
          Napi::Object o = session_state(e, handle->session.get());
          const auto n = static_cast<size_t>(result->tokens);
          Napi::Int32Array t = Napi::Int32Array::New(e, n);
          std::copy_n(tokens->begin(), n, t.Data());
          o.Set("tokens", t);
          o.Set("stop", result->stop == MMI_STOP_TOKEN        ? "stop_token"
                        : result->stop == MMI_STOP_MAX_TOKENS ? "max_tokens"
                                                              : "caller");
          return o;
        },
        {},
        JobSpec{field_or_undefined(events, "onProgress"), {field_or_undefined(events, "onToken")}, 0, nullptr,
                [handle] { handle->busy = false; }});
  }

  // { length, nextPosition, layout } now (throws while a job runs on the session: it never waits).
  Napi::Value state(const Napi::CallbackInfo& info) {
    return session_state(info.Env(), claim(info.Env())->session.get());
  }

  // Drops every token after the first `length`.
  Napi::Value rewind(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const int64_t length = int_arg(info[0], "length", 0, (int64_t{1} << 31) - 1);
    check(env, mmi_session_rewind(claim(env)->session.get(), length));
    return env.Undefined();
  }
};

// ---- Model ------------------------------------------------------------------------------------------------------

class ModelWrap : public Wrap<ModelWrap, mmi_model, &kModelTag> {
 public:
  using Wrap::Wrap;
  static void define(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Model",
                                     {InstanceMethod<&ModelWrap::info_of>("info"),
                                      InstanceMethod<&ModelWrap::create_session>("createSession"),
                                      InstanceMethod<&ModelWrap::create_encoder>("createEncoder"),
                                      InstanceMethod("dispose", &ModelWrap::dispose)});
    addon_data(env).model_class = Napi::Persistent(cls);
    exports.Set("Model", cls);
  }

 private:
  Napi::Value info_of(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    mmi_model_info i{};
    check(env, mmi_model_info_get(live(env, "model").get(), &i));
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", i.family);
    o.Set("visionLayers", static_cast<double>(i.vision_layers));
    o.Set("textLayers", static_cast<double>(i.text_layers));
    o.Set("hidden", static_cast<double>(i.hidden));
    o.Set("heads", static_cast<double>(i.heads));
    o.Set("kvHeads", static_cast<double>(i.kv_heads));
    o.Set("headDim", static_cast<double>(i.head_dim));
    o.Set("vocab", static_cast<double>(i.vocab));
    o.Set("tensors", static_cast<double>(i.tensors));
    o.Set("weightBytes", static_cast<double>(i.weight_bytes));
    o.Set("dtypes", strings(env, i.dtypes, i.dtype_count));
    o.Set("files", strings(env, i.files, i.file_count));
    o.Set("videoTokenId", i.video_token_id);
    o.Set("visionStartTokenId", i.vision_start_token_id);
    o.Set("visionEndTokenId", i.vision_end_token_id);
    Napi::Array eos = Napi::Array::New(env, static_cast<size_t>(i.eos_count));
    for (int64_t k = 0; k < i.eos_count; ++k) eos.Set(static_cast<uint32_t>(k), i.eos_token_ids[k]);
    o.Set("eosTokenIds", eos);
    o.Set("patch", static_cast<double>(i.patch));
    o.Set("merge", static_cast<double>(i.merge));
    o.Set("temporalPatch", static_cast<double>(i.temporal_patch));
    o.Set("tokensPerSecond", static_cast<double>(i.tokens_per_second));
    o.Set("minPixels", static_cast<double>(i.min_pixels));
    o.Set("maxPixels", static_cast<double>(i.max_pixels));
    o.Set("threads", i.threads);
    o.Set("device", device_name(i.device));
    o.Set("backend", i.backend);
    return o;
  }

  // createSession(kvCapacity = 0) -> Session
  Napi::Value create_session(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const int64_t capacity = info[0].IsUndefined() ? 0 : int_arg(info[0], "kvCapacity", 0, (int64_t{1} << 31) - 1);
    auto handle = std::make_shared<SessionHandle>();
    handle->model = live(env, "model");
    mmi_session* s = nullptr;
    check(env, mmi_session_create(handle->model.get(), capacity, &s));
    handle->session.reset(s);
    return SessionWrap::make(addon_data(env).session_class, env, handle);
  }

  // createEncoder(height, width) -> Encoder for frames of that size (RGB24)
  Napi::Value create_encoder(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const int64_t height = int_arg(info[0], "height", 1, 1 << 16);
    const int64_t width = int_arg(info[1], "width", 1, 1 << 16);
    auto handle = std::make_shared<EncoderHandle>();
    handle->model = live(env, "model");
    handle->cancel = new_cancel(env);
    mmi_encoder* e = nullptr;
    check(env, mmi_encoder_create(handle->model.get(), height, width, handle->cancel.get(), &e));
    handle->encoder.reset(e);
    return EncoderWrap::make(addon_data(env).encoder_class, env, handle);
  }
};

// loadModel(dir, { threads?, visionChunkFrames?, tokenChunk?, device?: 'auto' | 'cpu' | 'gpu' }?) -> job<Model>
Napi::Value load_model(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  require_arg(env, info[0].IsString(), "dir must be a string");
  const std::string dir = info[0].As<Napi::String>().Utf8Value();
  const Napi::Object options = options_arg(info, 1, "options");
  const mmi_model_options o{threads_field(options),
                            int_field(options, "visionChunkFrames", "options", 0, 1 << 20, 0),
                            int_field(options, "tokenChunk", "options", 0, 1 << 24, 0), device_field(options)};
  auto slot = std::make_shared<ModelPtr>();
  return start_job(
      env,
      [dir, o, slot](const mmi_run_options*) {
        mmi_model* m = nullptr;
        const mmi_status s = mmi_model_load(dir.c_str(), &o, &m);
        *slot = ModelPtr(m, mmi_model_destroy);
        return s;
      },
      [slot](Napi::Env e) -> Napi::Value {
        return ModelWrap::make(addon_data(e).model_class, e, *slot);
      },
      {}, Napi::Value(), 0);
}

// loadPatternFile(path, model, { requireSameConfig? }?) -> job<PatternFile>
Napi::Value load_pattern_file(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  require_arg(env, info[0].IsString(), "path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  ModelPtr model = ModelWrap::unwrap(info[1], "model", "a model");
  const Napi::Object options = options_arg(info, 2, "options");
  const bool same = bool_field(options, "requireSameConfig", "options", true);
  auto slot = std::make_shared<PatternFilePtr>();
  return start_job(
      env,
      [path, model, same, slot](const mmi_run_options*) {
        mmi_pattern_file* f = nullptr;
        const mmi_status s = mmi_pattern_file_load(path.c_str(), model.get(), same ? 1 : 0, &f);
        *slot = PatternFilePtr(f, mmi_pattern_file_destroy);
        return s;
      },
      [slot](Napi::Env e) -> Napi::Value { return PatternFileWrap::make(addon_data(e).patterns_class, e, *slot); },
      {}, Napi::Value(), 0);
}

// backendInfo() -> { cudaBuilt, gpuCount, cpuThreads, detail, gpuUsable, autoDevice }
Napi::Value backend_info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  mmi_backend_info b{};
  check(env, mmi_backend_info_get(&b));
  Napi::Object o = Napi::Object::New(env);
  o.Set("cudaBuilt", b.cuda_built != 0);
  o.Set("gpuCount", b.gpu_count);
  o.Set("cpuThreads", b.cpu_threads);
  o.Set("detail", b.detail);
  o.Set("gpuUsable", b.gpu_usable != 0);
  o.Set("autoDevice", device_name(b.auto_device));
  return o;
}

}  // namespace

std::shared_ptr<mmi_model> model_handle(Napi::Value value, const std::string& name) {
  return ModelWrap::unwrap(value, name, "a model");
}

std::shared_ptr<mmi_video> video_handle(Napi::Value value, const std::string& name) {
  return VideoWrap::unwrap(value, name, "a video");
}

void define_model(Napi::Env env, Napi::Object exports) {
  ModelWrap::define(env, exports);
  EncoderWrap::define(env, exports);
  VideoWrap::define(env, exports);
  SessionWrap::define(env, exports);
  PatternFileWrap::define(env, exports);
  exports.Set("loadPatternFile", Napi::Function::New(env, load_pattern_file, "loadPatternFile"));
  exports.Set("loadModel", Napi::Function::New(env, load_model, "loadModel"));
  exports.Set("backendInfo", Napi::Function::New(env, backend_info, "backendInfo"));
}

}  // namespace mmi::addon
