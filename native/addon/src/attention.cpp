#include "attention.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "index_wrap.hpp"
#include "job.hpp"

namespace mmi::addon {

namespace {

using Held = std::shared_ptr<Napi::Reference<Napi::Value>>;  // a JS value the result hands back

Held hold(Napi::Value v) { return std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(v)); }

// Starts an attention job writing into `out` (held until it ends); the promise resolves with `out`.
using AttentionWork = std::function<mmi_status(float* out, int64_t length, const mmi_run_options* run)>;

Napi::Value start_attention(Napi::Env env, Napi::Float32Array out, AttentionWork work,
                            const std::vector<Napi::Value>& keep, Napi::Value on_progress, Napi::Object options) {
  float* data = out.Data();
  const auto length = static_cast<int64_t>(out.ElementLength());
  const Held result = hold(out);
  return start_job(
      env, [=](const mmi_run_options* run) { return work(data, length, run); },
      [result](Napi::Env) { return result->Value(); }, keep, on_progress, threads_field(options),
      device_field(options));
}

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t at) {
  return info[at].IsUndefined() || info[at].IsNull() ? Napi::Object::New(info.Env())
                                                       : object_arg(info[at], "options");
}


// An index estimated or created on the worker, owned until the JS object takes it.
struct IndexSlot {
  mmi_index* index = nullptr;
  ~IndexSlot() { mmi_index_destroy(index); }
  Napi::Value take(Napi::Env env) {
    std::shared_ptr<mmi_index> owned(index, mmi_index_destroy);
    index = nullptr;
    return IndexWrap::wrap(env, std::move(owned));
  }
};

// attentionDense(q, k, v, { causal?, segments?, scale?, queryOffset?, threads?, device? }, out?, onProgress?)
//   -> { promise, cancel }
Napi::Value attention_dense(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::vector<Napi::Value> keep;
  const mmi_tensor q = tensor_arg(info[0], "q", keep), k = tensor_arg(info[1], "k", keep),
                   v = tensor_arg(info[2], "v", keep);
  const Napi::Object options = options_arg(info, 3);
  const bool causal = bool_field(options, "causal", "options", true);
  const auto scale = static_cast<float>(number_field(options, "scale", "options", 0.0));
  const int64_t query_offset = int_field(options, "queryOffset", "options", 0, int64_t{1} << 31, 0);
  auto segments = std::make_shared<std::vector<int64_t>>();
  const Napi::Value seg = options.Get("segments");
  if (!seg.IsUndefined()) {
    require_arg(env, seg.IsArray(), "options.segments must be an array of token offsets");
    const Napi::Array a = seg.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      segments->push_back(int_arg(a.Get(i), "options.segments[" + std::to_string(i) + "]", 0, int64_t{1} << 31));
    }
  }
  const Napi::Float32Array out = output_arg(env, info[4], q.heads * q.tokens * q.dim, keep);
  return start_attention(
      env, out,
      [=](float* data, int64_t length, const mmi_run_options* run) {
        const mmi_dense_options o{causal ? 1 : 0, segments->empty() ? nullptr : segments->data(),
                                  static_cast<int64_t>(segments->size()), scale, query_offset};
        return mmi_attention_dense(&q, &k, &v, &o, data, length, run);
      },
      keep, info[5], options);
}

// estimateIndex(q, k, segments | null, patterns (one or Hq), { scale?, threads? }, onProgress?) -> Index
Napi::Value estimate_index(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::vector<Napi::Value> keep;
  const mmi_tensor q = tensor_arg(info[0], "q", keep), k = tensor_arg(info[1], "k", keep);
  auto segments = std::make_shared<std::vector<mmi_segment>>();
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    *segments = segments_arg(info[2], "layout");
    require_arg(env, !segments->empty(), "layout has no segments (leave it out for an all-text prompt)");
  }
  auto patterns = std::make_shared<std::vector<mmi_pattern>>();
  if (info[3].IsArray()) {
    const Napi::Array a = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) patterns->push_back(pattern_arg(a.Get(i), "patterns[" + std::to_string(i) + "]"));
  } else {
    patterns->push_back(pattern_arg(info[3], "pattern"));
  }
  const Napi::Object options = options_arg(info, 4);
  const auto scale = static_cast<float>(number_field(options, "scale", "options", 0.0));
  auto slot = std::make_shared<IndexSlot>();
  return start_job(
      env,
      [=](const mmi_run_options* run) {
        return mmi_index_estimate(&q, &k, segments->empty() ? nullptr : segments->data(),
                                  static_cast<int64_t>(segments->size()), patterns->data(),
                                  static_cast<int64_t>(patterns->size()), scale, run, &slot->index);
      },
      [slot](Napi::Env e) { return slot->take(e); }, keep, info[5], threads_field(options));
}

// attentionSparse(q, k, v, index, { causal?, scale?, threads?, device? }, out?, onProgress?) -> Float32Array
Napi::Value attention_sparse(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::vector<Napi::Value> keep;
  const mmi_tensor q = tensor_arg(info[0], "q", keep), k = tensor_arg(info[1], "k", keep),
                   v = tensor_arg(info[2], "v", keep);
  const std::shared_ptr<mmi_index> index = IndexWrap::unwrap(info[3], "index");
  const Napi::Object options = options_arg(info, 4);
  const bool causal = bool_field(options, "causal", "options", true);
  const auto scale = static_cast<float>(number_field(options, "scale", "options", 0.0));
  const Napi::Float32Array out = output_arg(env, info[5], q.heads * q.tokens * q.dim, keep);
  return start_attention(
      env, out,
      [=](float* data, int64_t length, const mmi_run_options* run) {
        return mmi_attention_sparse(&q, &k, &v, index.get(), causal ? 1 : 0, scale, data, length, run);
      },
      keep, info[6], options);
}

// heatmaps(q, k, index, heads, { samples?, grid?, causal?, scale?, threads?, device? }, onProgress?) -> Heatmap[]
Napi::Value heatmaps(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::vector<Napi::Value> keep;
  const mmi_tensor q = tensor_arg(info[0], "q", keep), k = tensor_arg(info[1], "k", keep);
  const std::shared_ptr<mmi_index> index = IndexWrap::unwrap(info[2], "index");
  require_arg(env, info[3].IsArray() && info[3].As<Napi::Array>().Length() > 0, "heads must be a non-empty array");
  const Napi::Array head_list = info[3].As<Napi::Array>();
  auto heads = std::make_shared<std::vector<int64_t>>();
  for (uint32_t i = 0; i < head_list.Length(); ++i) {
    heads->push_back(int_arg(head_list.Get(i), "heads[" + std::to_string(i) + "]", 0, q.heads - 1));
  }
  const Napi::Object options = options_arg(info, 4);
  const mmi_heatmap_options opts{int_field(options, "samples", "options", 1, 1 << 20, 256),
                                 int_field(options, "grid", "options", 1, 4096, 256),
                                 bool_field(options, "causal", "options", true) ? 1 : 0,
                                 static_cast<float>(number_field(options, "scale", "options", 0.0))};
  const int64_t cells = opts.grid * opts.grid, rows = std::min(opts.samples, q.tokens);
  // JS-allocated outputs, written in place by the worker.
  auto out = std::make_shared<std::vector<mmi_heatmap>>();
  auto arrays = std::make_shared<std::vector<Napi::Reference<Napi::Value>>>();
  for (size_t i = 0; i < heads->size(); ++i) {
    Napi::Float32Array mass = Napi::Float32Array::New(env, static_cast<size_t>(cells)),
                       mass_p = Napi::Float32Array::New(env, static_cast<size_t>(cells)),
                       mask = Napi::Float32Array::New(env, static_cast<size_t>(cells)),
                       mask_p = Napi::Float32Array::New(env, static_cast<size_t>(cells));
    Napi::Int32Array row_samples = Napi::Int32Array::New(env, static_cast<size_t>(opts.grid)),
                     row_samples_p = Napi::Int32Array::New(env, static_cast<size_t>(opts.grid));
    Napi::BigInt64Array row_ids = Napi::BigInt64Array::New(env, static_cast<size_t>(rows));
    out->push_back(mmi_heatmap{mass.Data(), mass_p.Data(), mask.Data(), mask_p.Data(), row_samples.Data(),
                               row_samples_p.Data(), row_ids.Data(), 0, 0.0, 0.0});
    for (Napi::Value a : {Napi::Value(mass), Napi::Value(mass_p), Napi::Value(mask), Napi::Value(mask_p),
                          Napi::Value(row_samples), Napi::Value(row_samples_p), Napi::Value(row_ids)}) {
      arrays->push_back(Napi::Persistent(a));
    }
  }
  return start_job(
      env,
      [=](const mmi_run_options* run) {
        return mmi_heatmaps(&q, &k, index.get(), heads->data(), static_cast<int64_t>(heads->size()), &opts,
                            out->data(), run);
      },
      [=](Napi::Env e) {
        Napi::Array result = Napi::Array::New(e, heads->size());
        static constexpr const char* kNames[] = {"mass", "massPermuted", "mask", "maskPermuted",
                                                 "rowSamples", "rowSamplesPermuted", "rows"};
        for (size_t i = 0; i < heads->size(); ++i) {
          Napi::Object o = Napi::Object::New(e);
          o.Set("head", static_cast<double>((*heads)[i]));
          o.Set("grid", static_cast<double>(opts.grid));
          for (size_t a = 0; a < 7; ++a) o.Set(kNames[a], (*arrays)[i * 7 + a].Value());
          o.Set("recall", (*out)[i].recall);
          o.Set("coverage", (*out)[i].coverage);
          result.Set(static_cast<uint32_t>(i), o);
        }
        return result.As<Napi::Value>();
      },
      keep, info[5], threads_field(options), device_field(options));
}

// synthetic({ layout, headsQ, headsKv, dim, seed, sinkTokens? }, { threads? }, onProgress?) -> { q, k, v }
Napi::Value synthetic(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Object spec = object_arg(info[0], "spec");
  auto segments = std::make_shared<std::vector<mmi_segment>>(segments_arg(spec.Get("layout"), "spec.layout"));
  check(env, mmi_layout_check(segments->data(), static_cast<int64_t>(segments->size()), -1));
  int64_t tokens = 0;
  for (const mmi_segment& s : *segments) tokens += s.modality == MMI_TEXT ? s.tokens : s.t * s.h * s.w;
  mmi_synthetic_spec c{nullptr,
                       static_cast<int64_t>(segments->size()),
                       int_field(spec, "headsQ", "spec", 1, 4096, 0),
                       int_field(spec, "headsKv", "spec", 1, 4096, 0),
                       int_field(spec, "dim", "spec", 64, 256, 0),
                       static_cast<uint64_t>(int_field(spec, "seed", "spec", 0, (int64_t{1} << 53), 1)),
                       int_field(spec, "sinkTokens", "spec", 0, int64_t{1} << 31, 4)};
  require_arg(env, c.heads_q > 0 && c.heads_kv > 0 && c.dim > 0, "spec needs headsQ, headsKv and dim");
  require_arg(env, c.heads_q % c.heads_kv == 0, "spec.headsQ must be a multiple of spec.headsKv");
  const Napi::Object options = options_arg(info, 1);
  std::vector<Napi::Value> keep;
  Napi::Float32Array q = output_arg(env, env.Undefined(), c.heads_q * tokens * c.dim, keep),
                           k = output_arg(env, env.Undefined(), c.heads_kv * tokens * c.dim, keep),
                           v = output_arg(env, env.Undefined(), c.heads_kv * tokens * c.dim, keep);
  float *qd = q.Data(), *kd = k.Data(), *vd = v.Data();
  const auto ql = static_cast<int64_t>(q.ElementLength()), kl = static_cast<int64_t>(k.ElementLength());
  const Held hq = hold(q), hk = hold(k), hv = hold(v);
  return start_job(
      env,
      [=](const mmi_run_options* run) {
        mmi_synthetic_spec s = c;
        s.segments = segments->data();
        return mmi_synthetic_qkv(&s, qd, ql, kd, kl, vd, kl, run);
      },
      [=](Napi::Env e) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("q", hq->Value());
        o.Set("k", hk->Value());
        o.Set("v", hv->Value());
        o.Set("tokens", static_cast<double>(tokens));
        return o.As<Napi::Value>();
      },
      keep, info[2], threads_field(options));
}

// createIndex([{ tokens, blockOffsets, blockIds, columnOffsets, columnIds, rowPerm?, colPerm? }]) -> Index
Napi::Value create_index(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  require_arg(env, info[0].IsArray() && info[0].As<Napi::Array>().Length() > 0, "heads must be a non-empty array");
  const Napi::Array list = info[0].As<Napi::Array>();
  std::vector<Napi::Value> keep;
  auto views = std::make_shared<std::vector<mmi_index_head_view>>();
  auto typed = [&](Napi::Object o, const char* field, const std::string& who, napi_typedarray_type type,
                   const char* type_name, bool optional) -> Napi::TypedArray {
    const Napi::Value v = o.Get(field);
    if (optional && (v.IsUndefined() || v.IsNull())) return Napi::TypedArray();
    require_arg(env, v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type,
                who + "." + field + " must be a " + type_name);
    require_arg(env, !v.As<Napi::TypedArray>().ArrayBuffer().IsDetached(), who + "." + field + " is detached");
    keep.push_back(v);
    return v.As<Napi::TypedArray>();
  };
  for (uint32_t h = 0; h < list.Length(); ++h) {
    const std::string who = "heads[" + std::to_string(h) + "]";
    const Napi::Object o = object_arg(list.Get(h), who);
    const int64_t tokens = int_field(o, "tokens", who, 1, (int64_t{1} << 31) - 1, 0);
    require_arg(env, tokens > 0, who + ".tokens is required");
    const int64_t nb = (tokens + 63) / 64;
    mmi_index_head_view view{tokens, nb, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    const auto bo = typed(o, "blockOffsets", who, napi_bigint64_array, "BigInt64Array", false).As<Napi::BigInt64Array>();
    const auto co = typed(o, "columnOffsets", who, napi_bigint64_array, "BigInt64Array", false).As<Napi::BigInt64Array>();
    const auto bi = typed(o, "blockIds", who, napi_int32_array, "Int32Array", false).As<Napi::Int32Array>();
    const auto ci = typed(o, "columnIds", who, napi_int32_array, "Int32Array", false).As<Napi::Int32Array>();
    require_arg(env, static_cast<int64_t>(bo.ElementLength()) == nb + 1 && static_cast<int64_t>(co.ElementLength()) == nb + 1,
                who + ": blockOffsets and columnOffsets need " + std::to_string(nb + 1) + " entries");
    require_arg(env, bo.Data()[nb] == static_cast<int64_t>(bi.ElementLength()),
                who + ": blockOffsets ends at " + std::to_string(bo.Data()[nb]) + " but blockIds has " +
                    std::to_string(bi.ElementLength()) + " entries");
    require_arg(env, co.Data()[nb] == static_cast<int64_t>(ci.ElementLength()),
                who + ": columnOffsets ends at " + std::to_string(co.Data()[nb]) + " but columnIds has " +
                    std::to_string(ci.ElementLength()) + " entries");
    view.block_offsets = bo.Data();
    view.column_offsets = co.Data();
    view.block_ids = bi.Data();
    view.column_ids = ci.Data();
    for (const char* field : {"rowPerm", "colPerm"}) {
      const auto p = typed(o, field, who, napi_int32_array, "Int32Array", true);
      if (p.IsEmpty()) continue;
      require_arg(env, static_cast<int64_t>(p.ElementLength()) == tokens, who + "." + field + " needs one entry per token");
      (std::string_view(field) == "rowPerm" ? view.row_perm : view.col_perm) = p.As<Napi::Int32Array>().Data();
    }
    views->push_back(view);
  }
  auto slot = std::make_shared<IndexSlot>();
  return start_job(
      env,
      [=](const mmi_run_options*) {
        return mmi_index_create(views->data(), static_cast<int64_t>(views->size()), &slot->index);
      },
      [slot](Napi::Env e) { return slot->take(e); }, keep, env.Undefined(), 0);
}

// layoutCheck(segments, tokens?): throws an Error with code MMI_INVALID_ARGUMENT describing the first problem.
Napi::Value layout_check(const Napi::CallbackInfo& info) {
  const std::vector<mmi_segment> segments = segments_arg(info[0], "layout");
  const int64_t tokens = info[1].IsUndefined() ? -1 : int_arg(info[1], "tokens", 0, int64_t{1} << 40);
  check(info.Env(), mmi_layout_check(segments.data(), static_cast<int64_t>(segments.size()), tokens));
  return info.Env().Undefined();
}

// patternDefaults(kind) -> the pattern with its default budgets.
Napi::Value pattern_defaults(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("kind", info[0]);
  return pattern_value(info.Env(), pattern_arg(o, "pattern"));
}

// syntheticLayout(tokens, h?, w?) -> segments
Napi::Value synthetic_layout(const Napi::CallbackInfo& info) {
  const int64_t tokens = int_arg(info[0], "tokens", 2, (int64_t{1} << 31) - 1);
  const int64_t h = info[1].IsUndefined() ? 16 : int_arg(info[1], "h", 1, 4096);
  const int64_t w = info[2].IsUndefined() ? 24 : int_arg(info[2], "w", 1, 4096);
  mmi_segment segments[3];
  int64_t count = 0;
  check(info.Env(), mmi_synthetic_layout(tokens, h, w, segments, &count));
  return segments_value(info.Env(), segments, count);
}

}  // namespace

void define_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionDense", Napi::Function::New(env, attention_dense, "attentionDense"));
  exports.Set("attentionSparse", Napi::Function::New(env, attention_sparse, "attentionSparse"));
  exports.Set("estimateIndex", Napi::Function::New(env, estimate_index, "estimateIndex"));
  exports.Set("createIndex", Napi::Function::New(env, create_index, "createIndex"));
  exports.Set("heatmaps", Napi::Function::New(env, heatmaps, "heatmaps"));
  exports.Set("synthetic", Napi::Function::New(env, synthetic, "synthetic"));
  exports.Set("syntheticLayout", Napi::Function::New(env, synthetic_layout, "syntheticLayout"));
  exports.Set("layoutCheck", Napi::Function::New(env, layout_check, "layoutCheck"));
  exports.Set("patternDefaults", Napi::Function::New(env, pattern_defaults, "patternDefaults"));
}

}  // namespace mmi::addon
