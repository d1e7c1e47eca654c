#include "patterns.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "job.hpp"
#include "mmi.h"
#include "model.hpp"

namespace mmi::addon {

namespace {

Napi::Object options_or_empty(const Napi::CallbackInfo& info, size_t at, const char* name) {
  return info[at].IsUndefined() || info[at].IsNull() ? Napi::Object::New(info.Env()) : object_arg(info[at], name);
}

Napi::Value field_or_undefined(Napi::Object o, const char* field) {
  return o.Has(field) ? o.Get(field) : o.Env().Undefined();
}

std::string string_field(Napi::Object o, const char* field, const std::string& name, bool required) {
  const Napi::Value v = o.Get(field);
  if (!required && (v.IsUndefined() || v.IsNull())) return {};
  require_arg(o.Env(), v.IsString(), name + "." + field + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// { costTarget?, recallSamples?, tieTolerance?, denseBelowRecall?, candidates?: JSON text } with the C API's
// "negative or zero: the default" for what is left out.
struct Settings {
  mmi_search_settings c{-1.0, 0, -1.0, -1.0, nullptr};
  std::string candidates;
  bool has_candidates = false;

  const mmi_search_settings* get() {
    c.candidates_json = has_candidates ? candidates.c_str() : nullptr;
    return &c;
  }
};

Settings settings_arg(Napi::Value v) {
  Settings s;
  if (v.IsUndefined() || v.IsNull()) return s;
  const Napi::Object o = object_arg(v, "settings");
  auto fraction = [&](const char* field) {
    const double x = number_field(o, field, "settings", -1.0);
    require_arg(o.Env(), x >= 0.0 || !o.Has(field) || o.Get(field).IsUndefined(),
                std::string("settings.") + field + " must not be negative");
    return x;
  };
  s.c.cost_target = fraction("costTarget");
  s.c.tie_tolerance = fraction("tieTolerance");
  s.c.dense_below_recall = fraction("denseBelowRecall");
  s.c.recall_samples = int_field(o, "recallSamples", "settings", 1, 1 << 20, 0);
  const Napi::Value candidates = o.Get("candidates");
  if (!candidates.IsUndefined() && !candidates.IsNull()) {
    s.candidates = string_field(o, "candidates", "settings", true);
    s.has_candidates = true;
  }
  return s;
}

// { checkpoint?, out? } beside the settings: where the checkpoint and the finished file go.
struct Outputs {
  std::string checkpoint, out;
};

Outputs outputs_arg(Napi::Object o) {
  return {string_field(o, "checkpoint", "options", false), string_field(o, "out", "options", false)};
}

Napi::Object progress_value(Napi::Env env, const mmi_search_progress& p) {
  static constexpr const char* stages[] = {"encoding", "scoring", "done"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("stage", p.stage >= 0 && p.stage < 3 ? stages[p.stage] : "scoring");
  o.Set("prompt", static_cast<double>(p.prompt));
  o.Set("prompts", static_cast<double>(p.prompts));
  o.Set("layer", static_cast<double>(p.layer));
  o.Set("layers", static_cast<double>(p.layers));
  o.Set("done", static_cast<double>(p.done));
  o.Set("total", static_cast<double>(p.total));
  return o;
}

// The C API's progress callback posts each step as event 0 of the job.
mmi_search_options search_options(const Outputs& outputs, JobEvents& events) {
  return mmi_search_options{outputs.checkpoint.empty() ? nullptr : outputs.checkpoint.c_str(),
                            [](void* user, const mmi_search_progress* p) {
                              static_cast<JobEvents*>(user)->post(0, [copy = *p](Napi::Env e) {
                                return std::vector<napi_value>{progress_value(e, copy)};
                              });
                            },
                            &events};
}

// After a search: the file's text, saved first when an output path was given; the file is released either way.
mmi_status finish_search(mmi_status status, mmi_pattern_file* file, const Outputs& outputs, std::string& text) {
  const std::unique_ptr<mmi_pattern_file, decltype(&mmi_pattern_file_destroy)> owned(file, mmi_pattern_file_destroy);
  if (status != MMI_OK) return status;
  if (!outputs.out.empty()) {
    if (const mmi_status s = mmi_pattern_file_save(file, outputs.out.c_str()); s != MMI_OK) return s;
  }
  int64_t length = 0;
  if (const mmi_status s = mmi_pattern_file_text(file, nullptr, 0, &length); s != MMI_OK) return s;
  text.resize(static_cast<size_t>(length));
  return mmi_pattern_file_text(file, text.data(), length, &length);
}

struct CalibrationPrompt {
  std::string name;
  std::vector<int32_t> ids;
  std::vector<int64_t> positions;
  std::vector<std::shared_ptr<mmi_video>> videos;
  std::vector<const mmi_video*> video_ptrs;
};

// searchPatterns(model, [{ name, ids: Int32Array, positions: BigInt64Array, videos: Video[] }], settings?,
//   { checkpoint?, out? }?, { onProgress?(progress) }?) -> job<string>: the file's text (saved to `out` first)
Napi::Value search_patterns(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<mmi_model> model = model_handle(info[0], "model");
  require_arg(env, info[1].IsArray() && info[1].As<Napi::Array>().Length() > 0,
              "prompts must be a non-empty array");
  const Napi::Array list = info[1].As<Napi::Array>();
  auto prompts = std::make_shared<std::vector<CalibrationPrompt>>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string who = "prompts[" + std::to_string(i) + "]";
    const Napi::Object o = object_arg(list.Get(i), who);
    CalibrationPrompt p;
    p.name = string_field(o, "name", who, true);
    const Napi::Value ids = o.Get("ids");
    require_arg(env, ids.IsTypedArray() && ids.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
                who + ".ids must be an Int32Array");
    const auto id_array = ids.As<Napi::Int32Array>();
    p.ids.assign(id_array.Data(), id_array.Data() + id_array.ElementLength());
    const Napi::Value positions = o.Get("positions");
    require_arg(env,
                positions.IsTypedArray() &&
                    positions.As<Napi::TypedArray>().TypedArrayType() == napi_bigint64_array,
                who + ".positions must be a BigInt64Array (3 rows of ids.length)");
    const auto pos_array = positions.As<Napi::TypedArrayOf<int64_t>>();
    p.positions.assign(pos_array.Data(), pos_array.Data() + pos_array.ElementLength());
    const Napi::Value videos = o.Get("videos");
    if (!videos.IsUndefined() && !videos.IsNull()) {
      require_arg(env, videos.IsArray(), who + ".videos must be an array of Video");
      const Napi::Array v = videos.As<Napi::Array>();
      for (uint32_t k = 0; k < v.Length(); ++k) {
        p.videos.push_back(video_handle(v.Get(k), who + ".videos[" + std::to_string(k) + "]"));
      }
    }
    for (const auto& v : p.videos) p.video_ptrs.push_back(v.get());
    prompts->push_back(std::move(p));
  }
  auto settings = std::make_shared<Settings>(settings_arg(info[2]));
  const Outputs outputs = outputs_arg(options_or_empty(info, 3, "options"));
  const Napi::Object events = options_or_empty(info, 4, "events");
  auto text = std::make_shared<std::string>();
  return start_job(
      env,
      [model, prompts, settings, outputs, text](const mmi_run_options* run, JobEvents& ev) {
        std::vector<mmi_calibration_prompt> in;
        for (const CalibrationPrompt& p : *prompts) {
          in.push_back(mmi_calibration_prompt{p.name.c_str(), p.ids.data(), static_cast<int64_t>(p.ids.size()),
                                              p.positions.data(), static_cast<int64_t>(p.positions.size()),
                                              p.video_ptrs.data(), static_cast<int64_t>(p.video_ptrs.size())});
        }
        const mmi_search_options options = search_options(outputs, ev);
        mmi_pattern_file* file = nullptr;
        const mmi_status s = mmi_pattern_search(model.get(), in.data(), static_cast<int64_t>(in.size()),
                                                settings->get(), &options, run, &file);
        return finish_search(s, file, outputs, *text);
      },
      [text](Napi::Env e) -> Napi::Value { return Napi::String::New(e, *text); }, {},
      JobSpec{Napi::Value(), {field_or_undefined(events, "onProgress")}, 0, nullptr, nullptr});
}

// searchPatternsQk({ family, layers, heads, kvHeads, headDim, configSha256 },
//   [{ name, layout, q: Tensor[], k: Tensor[], scale? }], settings?, { checkpoint?, out?, threads? }?,
//   { onProgress? }?) -> job<string>
Napi::Value search_patterns_qk(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Object id = object_arg(info[0], "identity");
  auto family = std::make_shared<std::string>(string_field(id, "family", "identity", true));
  auto sha = std::make_shared<std::string>(string_field(id, "configSha256", "identity", true));
  constexpr int64_t big = int64_t{1} << 20;
  const mmi_model_identity identity{nullptr,
                                    int_field(id, "layers", "identity", 0, big, 0),
                                    int_field(id, "heads", "identity", 0, big, 0),
                                    int_field(id, "kvHeads", "identity", 0, big, 0),
                                    int_field(id, "headDim", "identity", 0, big, 0),
                                    nullptr};
  require_arg(env, info[1].IsArray() && info[1].As<Napi::Array>().Length() > 0,
              "prompts must be a non-empty array");
  const Napi::Array list = info[1].As<Napi::Array>();
  std::vector<Napi::Value> keep;
  struct QkPrompt {
    std::string name;
    std::vector<mmi_segment> segments;
    std::vector<mmi_tensor> q, k;
    float scale = 0.0f;
  };
  auto prompts = std::make_shared<std::vector<QkPrompt>>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string who = "prompts[" + std::to_string(i) + "]";
    const Napi::Object o = object_arg(list.Get(i), who);
    QkPrompt p;
    p.name = string_field(o, "name", who, true);
    p.segments = segments_arg(o.Get("layout"), who + ".layout");
    for (const char* part : {"q", "k"}) {
      const Napi::Value v = o.Get(part);
      require_arg(env, v.IsArray(), who + "." + part + " must be an array of tensors, one per layer");
      const Napi::Array layers = v.As<Napi::Array>();
      auto& into = std::string(part) == "q" ? p.q : p.k;
      for (uint32_t l = 0; l < layers.Length(); ++l) {
        into.push_back(tensor_arg(layers.Get(l), who + "." + part + "[" + std::to_string(l) + "]", keep));
      }
    }
    require_arg(env, p.q.size() == p.k.size(), who + ": q and k must hold the same number of layers");
    p.scale = static_cast<float>(number_field(o, "scale", who, 0.0));
    prompts->push_back(std::move(p));
  }
  auto settings = std::make_shared<Settings>(settings_arg(info[2]));
  const Napi::Object options = options_or_empty(info, 3, "options");
  const Outputs outputs = outputs_arg(options);
  const Napi::Object events = options_or_empty(info, 4, "events");
  auto text = std::make_shared<std::string>();
  return start_job(
      env,
      [identity, family, sha, prompts, settings, outputs, text](const mmi_run_options* run, JobEvents& ev) {
        mmi_model_identity i = identity;
        i.family = family->c_str();
        i.config_sha256 = sha->c_str();
        std::vector<mmi_qk_prompt> in;
        for (const QkPrompt& p : *prompts) {
          in.push_back(mmi_qk_prompt{p.name.c_str(), p.segments.data(), static_cast<int64_t>(p.segments.size()),
                                     p.q.data(), p.k.data(), static_cast<int64_t>(p.q.size()), p.scale});
        }
        const mmi_search_options o = search_options(outputs, ev);
        mmi_pattern_file* file = nullptr;
        const mmi_status s = mmi_pattern_search_qk(&i, in.data(), static_cast<int64_t>(in.size()), settings->get(),
                                                   &o, run, &file);
        return finish_search(s, file, outputs, *text);
      },
      [text](Napi::Env e) -> Napi::Value { return Napi::String::New(e, *text); }, keep,
      JobSpec{Napi::Value(), {field_or_undefined(events, "onProgress")}, threads_field(options), nullptr, nullptr});
}

std::vector<int64_t> ints_field(Napi::Object o, const char* field, const std::string& name) {
  const Napi::Value v = o.Get(field);
  std::vector<int64_t> out;
  if (v.IsUndefined()) return out;
  require_arg(o.Env(), v.IsArray(), name + "." + field + " must be an array of integers");
  const Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    out.push_back(int_arg(a.Get(i), name + "." + field + "[" + std::to_string(i) + "]", 0, (int64_t{1} << 31) - 1));
  }
  return out;
}

// plantedQkv({ kind: 'vertical_slash' | 'grid', layout, headsQ, dim, columns?, offsets?, stride?, phase?, seed })
//   -> job<{ q, k, v, tokens }> over one kv head
Napi::Value planted_qkv(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Object spec = object_arg(info[0], "spec");
  const std::string kind = string_field(spec, "kind", "spec", true);
  require_arg(env, kind == "vertical_slash" || kind == "grid", "spec.kind must be 'vertical_slash' or 'grid'");
  auto segments = std::make_shared<std::vector<mmi_segment>>(segments_arg(spec.Get("layout"), "spec.layout"));
  check(env, mmi_layout_check(segments->data(), static_cast<int64_t>(segments->size()), -1));
  int64_t tokens = 0;
  for (const mmi_segment& s : *segments) tokens += s.modality == MMI_TEXT ? s.tokens : s.t * s.h * s.w;
  auto columns = std::make_shared<std::vector<int64_t>>(ints_field(spec, "columns", "spec"));
  auto offsets = std::make_shared<std::vector<int64_t>>(ints_field(spec, "offsets", "spec"));
  const mmi_planted_spec c{kind == "grid" ? MMI_PLANTED_GRID : MMI_PLANTED_VERTICAL_SLASH,
                           nullptr,
                           static_cast<int64_t>(segments->size()),
                           int_field(spec, "headsQ", "spec", 1, 4096, 1),
                           int_field(spec, "dim", "spec", 64, 256, 64),
                           nullptr,
                           static_cast<int64_t>(columns->size()),
                           nullptr,
                           static_cast<int64_t>(offsets->size()),
                           int_field(spec, "stride", "spec", 0, int64_t{1} << 31, 0),
                           int_field(spec, "phase", "spec", 0, int64_t{1} << 31, 0),
                           static_cast<uint64_t>(int_field(spec, "seed", "spec", 0, int64_t{1} << 53, 1))};
  auto q = std::make_shared<std::vector<float>>(static_cast<size_t>(c.heads_q * tokens * c.dim));
  auto k = std::make_shared<std::vector<float>>(static_cast<size_t>(tokens * c.dim));
  auto v = std::make_shared<std::vector<float>>(k->size());
  return start_job(
      env,
      [=](const mmi_run_options*) {
        mmi_planted_spec s = c;
        s.segments = segments->data();
        s.columns = columns->data();
        s.offsets = offsets->data();
        return mmi_synthetic_planted(&s, q->data(), static_cast<int64_t>(q->size()), k->data(),
                                     static_cast<int64_t>(k->size()), v->data(), static_cast<int64_t>(v->size()));
      },
      [=](Napi::Env e) -> Napi::Value {
        Napi::Object o = Napi::Object::New(e);
        for (const auto& [name, data] : {std::pair{"q", q}, std::pair{"k", k}, std::pair{"v", v}}) {
          Napi::Float32Array a = Napi::Float32Array::New(e, data->size());
          std::copy(data->begin(), data->end(), a.Data());
          o.Set(name, a);
        }
        o.Set("tokens", static_cast<double>(tokens));
        return o;
      },
      {}, Napi::Value(), 0);
}

}  // namespace

void define_patterns(Napi::Env env, Napi::Object exports) {
  exports.Set("searchPatterns", Napi::Function::New(env, search_patterns, "searchPatterns"));
  exports.Set("searchPatternsQk", Napi::Function::New(env, search_patterns_qk, "searchPatternsQk"));
  exports.Set("plantedQkv", Napi::Function::New(env, planted_qkv, "plantedQkv"));
}

}  // namespace mmi::addon
