// The C API over the offline pattern search (native/patterns/include/mmi/patterns/search.hpp): settings and
// candidates, calibration prompts as the model takes them or as q/k, progress and the checkpoint; the resulting
// file as text or saved; and the attention core's planted inputs the search is tested on.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "cancel.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "mmi.h"
#include "mmi/attention/error.hpp"
#include "mmi/attention/synthetic.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/search.hpp"
#include "views.hpp"

namespace at = mmi::attention;
namespace pt = mmi::patterns;
using mmi::capi::guarded;
using mmi::capi::layout_of;
using mmi::capi::not_null;
using mmi::capi::view_of;

namespace {

[[noreturn]] void invalid(const std::string& where, const std::string& detail) {
  throw pt::Error(pt::ErrorCode::InvalidInput, "", where, detail);
}

void require(bool ok, const std::string& where, const std::string& detail) {
  if (!ok) invalid(where, detail);
}

pt::SearchSettings settings_of(const mmi_search_settings* s) {
  pt::SearchSettings out;
  if (s == nullptr) return out;
  auto fraction = [](double v, double fallback, const char* name) {
    if (v < 0) return fallback;
    require(v <= 1.0, name, std::string(name) + " must be in [0, 1] (negative: the default)");
    return v;
  };
  out.cost_target = fraction(s->cost_target, out.cost_target, "cost_target");
  out.tie_tolerance = fraction(s->tie_tolerance, out.tie_tolerance, "tie_tolerance");
  out.dense_below_recall = fraction(s->dense_below_recall, out.dense_below_recall, "dense_below_recall");
  require(s->recall_samples >= 0 && s->recall_samples <= (1 << 20), "recall_samples",
          "recall_samples must be in [0, 2^20] (0: the default)");
  if (s->recall_samples > 0) out.recall_samples = s->recall_samples;
  if (s->candidates_json != nullptr) out.candidates = pt::parse_candidates(s->candidates_json);
  return out;
}

// The search's control: the checkpoint, progress forwarded to the C callback, the run's cancel token.
pt::SearchControl control_of(const mmi_search_options* options, const mmi_run_options* run) {
  pt::SearchControl c;
  if (run != nullptr) {
    require(run->threads >= 0 && run->threads <= 1024, "threads", "threads must be in [0, 1024]");
    c.threads = run->threads;
    if (run->cancel != nullptr) c.cancel = &run->cancel->flag;
  }
  if (options == nullptr) return c;
  if (options->checkpoint != nullptr) c.checkpoint = options->checkpoint;
  if (options->progress != nullptr) {
    const mmi_search_progress_fn fn = options->progress;
    void* user = options->progress_user;
    c.on_progress = [fn, user](const pt::SearchProgress& p) {
      const mmi_search_progress out{static_cast<int32_t>(p.stage), p.prompt, p.prompts, p.layer, p.layers, p.done,
                                    p.total};
      fn(user, &out);
    };
  }
  return c;
}

std::string text_of(const char* s, const std::string& what) {
  require(s != nullptr, what, what + " is null");
  return s;
}

void hand_over(pt::PatternFile file, mmi_pattern_file** out) {
  auto f = std::make_unique<mmi_pattern_file>();
  f->file = std::make_shared<const pt::PatternFile>(std::move(file));
  *out = f.release();
}

}  // namespace

extern "C" {

mmi_status mmi_pattern_search(mmi_model* model, const mmi_calibration_prompt* prompts, int64_t prompt_count,
                              const mmi_search_settings* settings, const mmi_search_options* options,
                              const mmi_run_options* run, mmi_pattern_file** out) {
  return guarded([&] {
    require(out != nullptr, "out", "out is null");
    *out = nullptr;
    require(model != nullptr, "model", "model is null");
    require(prompt_count > 0 && prompt_count <= 100000 && prompts != nullptr, "prompts",
            "expected 1 to 100000 calibration prompts");
    const pt::SearchSettings s = settings_of(settings);
    // The prompts' features live in their videos; CalibrationPrompt takes one span of all of a prompt's videos.
    std::vector<std::vector<float>> features(static_cast<size_t>(prompt_count));
    std::vector<pt::CalibrationPrompt> in;
    for (int64_t i = 0; i < prompt_count; ++i) {
      const mmi_calibration_prompt& p = prompts[i];
      const std::string where = "prompts[" + std::to_string(i) + "]";
      require(p.id_count > 0 && p.id_count < (int64_t{1} << 31) && p.ids != nullptr, where + ".ids",
              "ids must hold 1 to 2^31 - 1 tokens");
      require(p.position_count == 3 * p.id_count && p.positions != nullptr, where + ".positions",
              "positions must hold 3 rows of " + std::to_string(p.id_count));
      require(p.video_count >= 0 && (p.video_count == 0 || p.videos != nullptr), where + ".videos", "videos is null");
      pt::CalibrationPrompt c;
      c.name = text_of(p.name, where + ".name");
      c.ids = std::span(p.ids, static_cast<size_t>(p.id_count));
      c.positions = std::span(p.positions, static_cast<size_t>(p.position_count));
      auto& f = features[static_cast<size_t>(i)];
      for (int64_t v = 0; v < p.video_count; ++v) {
        const mmi_video* video = p.videos[v];
        require(video != nullptr, where + ".videos", "video " + std::to_string(v) + " is null");
        f.insert(f.end(), video->features.begin(), video->features.end());
        c.video_grids.push_back(video->grid);
      }
      c.video_features = f;
      in.push_back(std::move(c));
    }
    const pt::SearchControl control = control_of(options, run);
    const std::lock_guard lock(model->mu);
    const pt::ModelIdentity identity = pt::model_identity(*model->model, model->dir);
    hand_over(pt::search_patterns(*model->model, identity, in, s, control), out);
  });
}

mmi_status mmi_pattern_search_qk(const mmi_model_identity* identity, const mmi_qk_prompt* prompts,
                                 int64_t prompt_count, const mmi_search_settings* settings,
                                 const mmi_search_options* options, const mmi_run_options* run,
                                 mmi_pattern_file** out) {
  return guarded([&] {
    require(out != nullptr, "out", "out is null");
    *out = nullptr;
    require(identity != nullptr, "identity", "identity is null");
    require(prompt_count > 0 && prompt_count <= 100000 && prompts != nullptr, "prompts",
            "expected 1 to 100000 calibration prompts");
    const pt::ModelIdentity id{text_of(identity->family, "identity.family"), identity->layers, identity->heads,
                               identity->kv_heads, identity->head_dim,
                               text_of(identity->config_sha256, "identity.config_sha256")};
    const pt::SearchSettings s = settings_of(settings);
    std::vector<pt::QkPrompt> in;
    for (int64_t i = 0; i < prompt_count; ++i) {
      const mmi_qk_prompt& p = prompts[i];
      const std::string where = "prompts[" + std::to_string(i) + "]";
      require(p.layers > 0 && p.layers <= 4096 && p.q != nullptr && p.k != nullptr, where,
              "q and k must hold 1 to 4096 layers");
      pt::QkPrompt c;
      c.name = text_of(p.name, where + ".name");
      for (int64_t l = 0; l < p.layers; ++l) {
        c.q.push_back(view_of(&p.q[l], (where + ".q[" + std::to_string(l) + "]").c_str()));
        c.k.push_back(view_of(&p.k[l], (where + ".k[" + std::to_string(l) + "]").c_str()));
      }
      c.layout = layout_of(p.segments, p.segment_count, c.q.front().n);
      c.scale = p.scale;
      in.push_back(std::move(c));
    }
    hand_over(pt::search_patterns_qk(id, in, s, control_of(options, run)), out);
  });
}

mmi_status mmi_pattern_file_text(const mmi_pattern_file* file, char* buffer, int64_t capacity, int64_t* length) {
  return guarded([&] {
    require(file != nullptr && length != nullptr, "file", "file and length must not be null");
    require(capacity >= 0 && (capacity == 0 || buffer != nullptr), "buffer", "buffer is null");
    const std::string text = pt::serialize_pattern_file(*file->file);
    *length = static_cast<int64_t>(text.size());
    text.copy(buffer, static_cast<size_t>(std::min<int64_t>(capacity, *length)));
  });
}

mmi_status mmi_pattern_file_save(const mmi_pattern_file* file, const char* path) {
  return guarded([&] {
    require(file != nullptr, "file", "file is null");
    pt::save_pattern_file(*file->file, text_of(path, "path"));
  });
}

mmi_status mmi_synthetic_planted(const mmi_planted_spec* spec, float* q, int64_t q_length, float* k,
                                 int64_t k_length, float* v, int64_t v_length) {
  return guarded([&] {
    not_null(spec, "spec");
    not_null(q, "q");
    not_null(k, "k");
    not_null(v, "v");
    at::require(spec->kind == MMI_PLANTED_VERTICAL_SLASH || spec->kind == MMI_PLANTED_GRID,
                "planted: unknown kind " + std::to_string(spec->kind));
    at::require(spec->heads_q > 0 && spec->heads_q <= 4096, "planted: heads_q must be in [1, 4096]");
    at::require(spec->dim >= 64 && spec->dim <= at::kMaxHeadDim, "planted: head dim must be in [64, 256]");
    const at::ModalityLayout layout = layout_of(spec->segments, spec->segment_count, -1);
    const int64_t n = layout.n();
    auto list = [n](const int64_t* values, int64_t count, const char* name) {
      at::require(count >= 0 && count <= n && (count == 0 || values != nullptr),
                  std::string("planted: ") + name + " is null or too long");
      return std::vector<int64_t>(values, values + count);
    };
    at::Planted p;
    if (spec->kind == MMI_PLANTED_VERTICAL_SLASH) {
      const auto columns = list(spec->columns, spec->column_count, "columns");
      const auto offsets = list(spec->offsets, spec->offset_count, "offsets");
      for (const int64_t c : columns) at::require(c >= 0 && c < n, "planted: a column is outside [0, N)");
      for (const int64_t o : offsets) at::require(o >= 0 && o < n, "planted: an offset is outside [0, N)");
      p = at::planted_vertical_slash(n, spec->heads_q, spec->dim, columns, offsets, spec->seed);
    } else {
      at::require(spec->stride > 0 && spec->phase >= 0 && spec->phase < spec->stride,
                  "planted: grid needs stride > 0 and 0 <= phase < stride");
      p = at::planted_grid(layout, spec->heads_q, spec->dim, spec->stride, spec->phase, spec->seed);
    }
    at::require(q_length == static_cast<int64_t>(p.qkv.q.size()),
                "q holds " + std::to_string(q_length) + " floats, expected " + std::to_string(p.qkv.q.size()));
    at::require(k_length == static_cast<int64_t>(p.qkv.k.size()) && v_length == k_length,
                "k and v must hold N * dim = " + std::to_string(p.qkv.k.size()) + " floats");
    std::copy(p.qkv.q.begin(), p.qkv.q.end(), q);
    std::copy(p.qkv.k.begin(), p.qkv.k.end(), k);
    std::copy(p.qkv.v.begin(), p.qkv.v.end(), v);
  });
}

}  // extern "C"
