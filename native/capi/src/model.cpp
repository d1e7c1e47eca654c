// The C API over the model runtime (mmi/runtime/video_model.hpp), for the family a folder's config.json names
// (families.hpp): models, video encoders, videos and sessions as opaque handles. The runtime computes with a model from one thread at a time, so
// every computing call (encoder push/finish, pre-fill, decode) holds the model's lock; a session's own lock guards
// its cache, so reading one session's state never waits for another session's work. A model runs on the device
// mmi_device picks (device.cpp); on the GPU a pre-fill's attention options become per-head patterns (gpu_prefill).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cancel.hpp"
#include "device.hpp"
#include "families.hpp"
#include "guard.hpp"
#include "gpu_prefill.hpp"
#include "handles.hpp"
#include "mmi.h"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/prefill.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/video_model.hpp"

namespace rt = mmi::runtime;
namespace pt = mmi::patterns;
using mmi::capi::guarded;
using mmi::runtime::Error;
using mmi::runtime::ErrorCode;

struct mmi_encoder {
  mmi_model* model = nullptr;
  int64_t height = 0, width = 0;
  const mmi_run_options* run = nullptr;  // the push/finish in progress: where the encoder's progress goes
  std::unique_ptr<rt::VideoStream> encoder;
};

struct mmi_session {
  mmi_model* model = nullptr;
  mutable std::mutex mu;
  std::unique_ptr<rt::Conversation> session;
};

namespace {

void require(bool ok, const std::string& subject, const std::string& detail) {
  if (!ok) throw Error(ErrorCode::InvalidInput, "", subject, detail);
}

template <class T>
void not_null(const T* p, const char* name) {
  require(p != nullptr, name, std::string(name) + " is null");
}

rt::RunControl control_of(const mmi_run_options* run) {
  rt::RunControl c;
  if (run == nullptr) return c;
  if (run->cancel != nullptr) c.cancel = &run->cancel->flag;
  if (run->progress != nullptr) {
    const mmi_progress_fn fn = run->progress;
    void* user = run->progress_user;
    c.on_progress = [fn, user](rt::Stage, int64_t done, int64_t total) { fn(user, done, total); };
  }
  return c;
}

void fill_segment(const rt::Segment& s, mmi_segment* out) {
  *out = s.kind == rt::Segment::Kind::Video ? mmi_segment{MMI_VIDEO, s.length, s.t, s.h, s.w}
                                           : mmi_segment{MMI_TEXT, s.length, 0, 0, 0};
}

mmi_head_report report_of(const pt::HeadReport& r) {
  return mmi_head_report{r.layer,
                         r.head,
                         static_cast<int32_t>(r.planned),
                         static_cast<int32_t>(r.applied),
                         static_cast<int32_t>(r.reason),
                         r.queries,
                         r.keys,
                         r.density,
                         r.recall.value_or(-1.0),
                         r.estimation_ms,
                         r.attention_ms};
}

void deliver_heatmap(const pt::HeadHeatmap& h, mmi_head_heatmap_fn fn, void* user) {
  std::vector<mmi_grid_choice> grid;
  for (const auto& g : h.grid) {
    grid.push_back(mmi_grid_choice{g.run.start, g.run.length, g.run.stride, g.prior, g.score, g.phases.data(),
                                   static_cast<int64_t>(g.phases.size())});
  }
  const mmi::attention::Heatmap& m = h.heatmap;
  const mmi_head_heatmap out{h.layer,
                             h.head,
                             h.tokens,
                             static_cast<int32_t>(h.pattern),
                             m.grid,
                             m.mass.data(),
                             m.mass_permuted.data(),
                             m.mask.data(),
                             m.mask_permuted.data(),
                             m.row_samples.data(),
                             m.row_samples_permuted.data(),
                             m.rows.data(),
                             static_cast<int64_t>(m.rows.size()),
                             m.recall,
                             m.coverage,
                             grid.data(),
                             static_cast<int64_t>(grid.size())};
  fn(user, &out);
}

void check_heatmap_options(const mmi_attention_options& a) {
  require(a.heatmap_count >= 0 && (a.heatmap_count == 0 || a.heatmap_heads != nullptr), "heatmap_heads",
          "heatmap_heads is null");
  require(a.heatmap_grid >= 0 && a.heatmap_grid <= 4096 && a.heatmap_samples >= 0 && a.recall_samples >= 0,
          "attention", "heatmap grid must be in [0, 4096]; samples must not be negative");
}

// The pattern layer's per-head hook for one pre-fill, its callbacks forwarded to the C callbacks.
std::unique_ptr<pt::SparsePrefill> sparse_prefill(const rt::VideoModel& model, const mmi_attention_options& a,
                                                  const mmi_run_options* run) {
  check_heatmap_options(a);
  pt::SparsePrefillOptions o;
  if (a.dense_below_tokens >= 0) o.dense_below_tokens = a.dense_below_tokens;
  o.recall_floor = a.recall_floor;
  if (a.recall_samples > 0) o.recall_samples = a.recall_samples;
  for (int64_t i = 0; i < a.heatmap_count; ++i) o.heatmaps.push_back({a.heatmap_heads[2 * i], a.heatmap_heads[2 * i + 1]});
  o.heatmap_options.grid = a.heatmap_grid > 0 ? a.heatmap_grid : 64;
  o.heatmap_options.samples = a.heatmap_samples > 0 ? a.heatmap_samples : 64;
  const mmi_head_report_fn on_head = a.on_head;
  const mmi_head_heatmap_fn on_heatmap = a.on_heatmap;
  void* user = a.user;
  if (on_head != nullptr) {
    o.on_head = [on_head, user](const pt::HeadReport& r) {
      const mmi_head_report c = report_of(r);
      on_head(user, &c);
    };
  }
  if (on_heatmap != nullptr) o.on_heatmap = [on_heatmap, user](const pt::HeadHeatmap& h) { deliver_heatmap(h, on_heatmap, user); };
  if (run != nullptr && run->cancel != nullptr) o.cancel = &run->cancel->flag;
  std::shared_ptr<const pt::PatternFile> file = a.patterns != nullptr ? a.patterns->file : nullptr;
  return std::make_unique<pt::SparsePrefill>(model, std::move(file), std::move(o));
}

}  // namespace

extern "C" {

int64_t mmi_default_dense_below_tokens(void) { return pt::kDenseBelowTokens; }

mmi_status mmi_backend_info_get(mmi_backend_info* out) {
  return guarded([&] {
    not_null(out, "out");
    thread_local std::string detail;
    const mmi::capi::Devices d = mmi::capi::devices();
    const mmi_device chosen = mmi::capi::resolve_device(MMI_DEVICE_AUTO, d);
    detail = d.detail + (chosen == MMI_DEVICE_GPU ? "; models run on the GPU" : "; models run on the CPU") +
             (mmi::capi::device_override().empty() ? "" : " (MMI_DEVICE=" + mmi::capi::device_override() + ")");
    *out = mmi_backend_info{d.cuda_built, d.gpu_count, d.cpu_threads, detail.c_str(), d.gpu_usable ? 1 : 0, chosen};
  });
}

mmi_status mmi_model_load(const char* dir, const mmi_model_options* options, mmi_model** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(dir, "dir");
    rt::LoadOptions o;
    int32_t device = MMI_DEVICE_AUTO;
    if (options != nullptr) {
      require(options->threads >= 0 && options->threads <= 1024, "threads", "must be in [0, 1024]");
      require(options->vision_chunk_frames >= 0 && options->token_chunk >= 0, "options",
              "chunk sizes must not be negative");
      o.threads = options->threads;
      if (options->vision_chunk_frames > 0) o.vision_chunk_frames = options->vision_chunk_frames;
      if (options->token_chunk > 0) o.token_chunk = options->token_chunk;
      device = options->device;
    }
    o.backend = mmi::capi::model_backend(device);
    auto m = std::make_unique<mmi_model>();
    m->model = mmi::capi::family_of(dir).load(dir, o);
    m->dir = dir;
    m->text = m->model->text_shape();
    m->video = m->model->video_shape();
    m->threads = o.threads > 0 ? o.threads : static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    for (const auto& d : m->model->info().dtypes) m->dtypes.push_back(d.c_str());
    for (const auto& f : m->model->info().files) m->files.push_back(f.c_str());
    *out = m.release();
  });
}

void mmi_model_destroy(mmi_model* model) { delete model; }

mmi_status mmi_model_info_get(const mmi_model* model, mmi_model_info* out) {
  return guarded([&] {
    not_null(model, "model");
    not_null(out, "out");
    const rt::ModelInfo& i = model->model->info();
    const rt::TextShape& t = model->text;
    const rt::VideoShape& v = model->video;
    *out = mmi_model_info{i.family.c_str(),
                          i.vision_layers,
                          i.text_layers,
                          i.hidden,
                          t.heads,
                          t.kv_heads,
                          t.head_dim,
                          i.vocab,
                          i.tensors,
                          i.weight_bytes,
                          model->dtypes.data(),
                          static_cast<int64_t>(model->dtypes.size()),
                          model->files.data(),
                          static_cast<int64_t>(model->files.size()),
                          v.video_token,
                          v.vision_start_token,
                          v.vision_end_token,
                          v.eos_tokens.data(),
                          static_cast<int64_t>(v.eos_tokens.size()),
                          v.patch,
                          v.merge,
                          v.temporal_patch,
                          v.tokens_per_second,
                          v.min_pixels,
                          v.max_pixels,
                          model->threads,
                          mmi::capi::on_gpu(*model) ? MMI_DEVICE_GPU : MMI_DEVICE_CPU,
                          i.backend.c_str()};
  });
}

mmi_status mmi_encoder_create(mmi_model* model, int64_t height, int64_t width, mmi_cancel* cancel,
                              mmi_encoder** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(model, "model");
    auto e = std::make_unique<mmi_encoder>();
    e->model = model;
    e->height = height;
    e->width = width;
    rt::RunControl control;
    control.cancel = cancel != nullptr ? &cancel->flag : nullptr;
    mmi_encoder* self = e.get();
    control.on_progress = [self](rt::Stage, int64_t done, int64_t total) {
      if (self->run != nullptr && self->run->progress != nullptr) self->run->progress(self->run->progress_user, done, total);
    };
    e->encoder = model->model->stream_video(height, width, control);
    *out = e.release();
  });
}

mmi_status mmi_encoder_push(mmi_encoder* encoder, const uint8_t* rgb, int64_t length, int64_t frames,
                            const mmi_run_options* run) {
  return guarded([&] {
    not_null(encoder, "encoder");
    require(frames >= 0 && frames < (int64_t{1} << 31), "frames", "must be in [0, 2^31)");
    const std::lock_guard lock(encoder->model->mu);
    if (frames == 0) return;
    not_null(rgb, "rgb");
    encoder->run = run;
    struct Reset {
      mmi_encoder* e;
      ~Reset() { e->run = nullptr; }
    } reset{encoder};
    const int64_t expected = frames * encoder->height * encoder->width * 3;
    require(length == expected, "rgb",
            std::to_string(frames) + " frames of " + std::to_string(encoder->width) + "x" +
                std::to_string(encoder->height) + " RGB need " + std::to_string(expected) + " bytes, got " +
                std::to_string(length));
    encoder->encoder->push(rgb, frames);
  });
}

mmi_status mmi_encoder_finish(mmi_encoder* encoder, const mmi_run_options* run, mmi_video** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(encoder, "encoder");
    const std::lock_guard lock(encoder->model->mu);
    encoder->run = run;
    struct Reset {
      mmi_encoder* e;
      ~Reset() { e->run = nullptr; }
    } reset{encoder};
    auto v = std::make_unique<mmi_video>();
    v->features = encoder->encoder->finish(&v->grid);
    const mmi_model& m = *encoder->model;
    v->hidden = m.text.hidden;
    v->tokens = v->grid.t * (v->grid.h / m.video.merge) * (v->grid.w / m.video.merge);
    *out = v.release();
  });
}

void mmi_encoder_destroy(mmi_encoder* encoder) { delete encoder; }

mmi_status mmi_video_info_get(const mmi_video* video, mmi_video_info* out) {
  return guarded([&] {
    not_null(video, "video");
    not_null(out, "out");
    *out = mmi_video_info{video->grid.t, video->grid.h, video->grid.w, video->tokens, video->hidden,
                          video->features.data()};
  });
}

void mmi_video_destroy(mmi_video* video) { delete video; }

mmi_status mmi_pattern_file_load(const char* path, const mmi_model* model, int32_t require_same_config,
                                 mmi_pattern_file** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(path, "path");
    not_null(model, "model");
    const pt::ModelIdentity identity = pt::model_identity(*model->model, model->dir);
    pt::LoadOptions o;
    o.require_same_config = require_same_config != 0;
    auto f = std::make_unique<mmi_pattern_file>();
    f->file = std::make_shared<const pt::PatternFile>(pt::load_pattern_file(path, &identity, o));
    *out = f.release();
  });
}

void mmi_pattern_file_destroy(mmi_pattern_file* file) { delete file; }

mmi_status mmi_pattern_file_kinds(const mmi_pattern_file* file, int32_t* kinds, int64_t length) {
  return guarded([&] {
    not_null(file, "file");
    not_null(kinds, "kinds");
    const pt::PatternFile& f = *file->file;
    const int64_t layers = static_cast<int64_t>(f.layers.size());
    const int64_t heads = f.model.heads;
    require(length == layers * heads, "kinds", "must hold layers * heads = " + std::to_string(layers * heads));
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t h = 0; h < heads; ++h) kinds[l * heads + h] = static_cast<int32_t>(f.at(l, h).pattern.pattern);
  });
}

mmi_status mmi_session_create(mmi_model* model, int64_t kv_capacity, mmi_session** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(model, "model");
    require(kv_capacity >= 0 && kv_capacity < (int64_t{1} << 31), "kv_capacity", "must be in [0, 2^31)");
    auto s = std::make_unique<mmi_session>();
    s->model = model;
    s->session = model->model->open_conversation(kv_capacity);
    *out = s.release();
  });
}

void mmi_session_destroy(mmi_session* session) { delete session; }

mmi_status mmi_session_prefill(mmi_session* session, const mmi_prefill_input* input, const mmi_run_options* run,
                               float* logits, int64_t logits_length) {
  return guarded([&] {
    not_null(session, "session");
    not_null(input, "input");
    require(input->id_count > 0 && input->id_count < (int64_t{1} << 31), "ids", "count must be in [1, 2^31)");
    not_null(input->ids, "ids");
    require(input->position_count == 0 || input->position_count == 3 * input->id_count, "positions",
            "must hold 3 rows of " + std::to_string(input->id_count) + " (or none), got " +
                std::to_string(input->position_count));
    require(input->position_count == 0 || input->positions != nullptr, "positions", "positions is null");
    require(input->video_count >= 0 && (input->video_count == 0 || input->videos != nullptr), "videos",
            "videos is null");
    const int64_t vocab = session->model->text.vocab;
    require(logits == nullptr ? logits_length == 0 : logits_length == vocab, "logits",
            "must hold the vocabulary (" + std::to_string(vocab) + " floats), got " + std::to_string(logits_length));

    std::vector<float> features;
    std::vector<rt::GridTHW> grids;
    for (int64_t i = 0; i < input->video_count; ++i) {
      const mmi_video* v = input->videos[i];
      require(v != nullptr, "videos", "video " + std::to_string(i) + " is null");
      features.insert(features.end(), v->features.begin(), v->features.end());
      grids.push_back(v->grid);
    }
    rt::PrefillInput in;
    in.ids = std::span(input->ids, static_cast<size_t>(input->id_count));
    if (input->position_count > 0) in.positions = std::span(input->positions, static_cast<size_t>(input->position_count));
    in.video_features = features;
    in.video_grids = grids;
    const rt::VideoModel& model = *session->model->model;
    const bool gpu = mmi::capi::on_gpu(*session->model);
    std::unique_ptr<pt::SparsePrefill> hook;
    if (input->attention != nullptr && !gpu) {
      hook = sparse_prefill(model, *input->attention, run);
      in.attention = hook.get();
    }
    const std::scoped_lock lock(session->mu, session->model->mu);
    std::optional<mmi::capi::GpuPrefill> plan;
    if (input->attention != nullptr && gpu) {
      const mmi_attention_options& a = *input->attention;
      check_heatmap_options(a);
      std::function<void(const pt::HeadHeatmap&)> deliver;
      if (a.on_heatmap != nullptr) {
        deliver = [fn = a.on_heatmap, user = a.user](const pt::HeadHeatmap& h) { deliver_heatmap(h, fn, user); };
      }
      plan.emplace(model, a, session->session->length(), input->id_count, std::move(deliver));
      in.patterns = plan->patterns();
      in.heatmaps = plan->heatmaps();
    }
    const std::vector<float> out = session->session->prefill(in, control_of(run));
    if (plan) plan->report(session->session->stats(), *input->attention);
    if (logits != nullptr) std::copy(out.begin(), out.end(), logits);
  });
}

mmi_status mmi_session_decode(mmi_session* session, const mmi_decode_options* options, mmi_token_fn on_token,
                              void* user, const mmi_run_options* run, int32_t* tokens_out, int64_t capacity,
                              mmi_decode_result* out) {
  return guarded([&] {
    not_null(session, "session");
    not_null(options, "options");
    require(options->max_tokens > 0 && options->max_tokens < (int64_t{1} << 31), "max_tokens",
            "must be in [1, 2^31)");
    require(options->temperature >= 0.0f && options->top_p >= 0.0f && options->top_p <= 1.0f && options->top_k >= 0,
            "options", "temperature must be >= 0, top_p in [0, 1], top_k >= 0");
    require(options->stop_count >= 0 && (options->stop_count == 0 || options->stop_ids != nullptr), "stop_ids",
            "stop_ids is null");
    require(capacity >= 0 && (capacity == 0 || tokens_out != nullptr), "tokens_out", "tokens_out is null");
    rt::DecodeOptions o;
    o.max_tokens = options->max_tokens;
    o.temperature = options->temperature;
    o.top_p = options->top_p == 0.0f ? 1.0f : options->top_p;
    o.top_k = options->top_k;
    o.seed = options->seed;
    o.stop_ids.assign(options->stop_ids, options->stop_ids + options->stop_count);
    std::function<bool(int32_t)> each;
    if (on_token != nullptr) each = [on_token, user](int32_t t) { return on_token(user, t) != 0; };
    const std::scoped_lock lock(session->mu, session->model->mu);
    const rt::DecodeResult r = session->session->decode(o, each, control_of(run));
    const auto n = static_cast<int64_t>(r.tokens.size());
    if (tokens_out != nullptr) std::copy_n(r.tokens.begin(), std::min(n, capacity), tokens_out);
    if (out != nullptr) {
      *out = mmi_decode_result{n, r.stop == rt::DecodeResult::Stop::StopToken   ? MMI_STOP_TOKEN
                                  : r.stop == rt::DecodeResult::Stop::MaxTokens ? MMI_STOP_MAX_TOKENS
                                                                                : MMI_STOP_CALLER};
    }
  });
}

mmi_status mmi_session_state_get(const mmi_session* session, mmi_session_state* out) {
  return guarded([&] {
    not_null(session, "session");
    not_null(out, "out");
    const std::lock_guard lock(session->mu);
    *out = mmi_session_state{session->session->length(), session->session->next_position(),
                             static_cast<int64_t>(session->session->layout().size())};
  });
}

mmi_status mmi_session_layout(const mmi_session* session, mmi_segment* out, int64_t capacity, int64_t* count) {
  return guarded([&] {
    not_null(session, "session");
    not_null(count, "count");
    require(capacity >= 0 && (capacity == 0 || out != nullptr), "out", "out is null");
    const std::lock_guard lock(session->mu);
    const auto& layout = session->session->layout();
    *count = static_cast<int64_t>(layout.size());
    for (size_t i = 0; i < layout.size() && static_cast<int64_t>(i) < capacity; ++i) fill_segment(layout[i], &out[i]);
  });
}

mmi_status mmi_session_rewind(mmi_session* session, int64_t length) {
  return guarded([&] {
    not_null(session, "session");
    const std::lock_guard lock(session->mu);
    session->session->rewind(length);
  });
}

}  // extern "C"
