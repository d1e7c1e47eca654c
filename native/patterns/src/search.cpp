// The search's two drivers: on the model (dense pre-fill of each calibration prompt on the model's device, which
// shows the search every layer's q/k as it goes, so no layer's q/k is kept), and on q/k given directly.
#include "mmi/patterns/search.hpp"

#include <string>

#include "call_views.hpp"
#include "mmi/attention/control.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/runtime/errors.hpp"
#include "search_state.hpp"
#include "sha256.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;
using detail::LayerScores;
using detail::SearchState;

namespace {

template <class T>
void hash_span(detail::Sha256& h, std::string_view tag, std::span<const T> values) {
  const std::uint64_t count = values.size();
  h.update(tag).update(&count, sizeof count).update(values.data(), values.size_bytes());
}

void report(const SearchControl& control, SearchProgress::Stage stage, std::int64_t prompt, std::int64_t layer,
            const SearchState& state) {
  if (!control.on_progress) return;
  SearchProgress p;
  p.stage = stage;
  p.prompt = prompt;
  p.prompts = state.prompts();
  p.layer = layer;
  p.layers = state.layers();
  p.done = state.finished();
  p.total = state.prompts() * state.layers();
  control.on_progress(p);
}

[[noreturn]] void cancelled() { throw Error(ErrorCode::Cancelled, "", "", "the search was cancelled"); }

// During the dense pre-fill of one prompt, on either backend: each layer's q and k as the model computed them (the
// backend computes the attention itself), and its heads' candidate scores for layers not yet in the state. Heads
// run in parallel on the host's cores, each into its own slot, one thread each (the scores do not depend on the
// thread count).
class ScoringObserver final : public runtime::PrefillObserver {
 public:
  ScoringObserver(const SearchState& state, std::int64_t prompt, const SearchSettings& settings,
                  const SearchControl& control)
      : state_(state), prompt_(prompt), settings_(settings), control_(control) {}

  void observe(const runtime::LayerQk& seen) override {
    if (state_.done(prompt_, seen.layer)) return;
    if (seen.q_begin != 0) {
      throw Error(ErrorCode::InvalidInput, "", "model", "the search pre-fills each prompt into a fresh cache");
    }
    const att::ModalityLayout layout = detail::layout_of(seen.layout, seen.q.n);
    LayerScores scores(static_cast<std::size_t>(seen.q.heads));
    att::RunControl rc;
    rc.threads = control_.threads;
    rc.cancel = control_.cancel;
    try {
      att::parallel_for(seen.q.heads, rc, [&](std::int64_t head) {
        try {
          scores[static_cast<std::size_t>(head)] = score_candidates(
              seen.q, seen.k, head, layout, settings_.candidates, settings_.recall_samples, seen.scale, control_.cancel);
        } catch (const att::Error& e) {
          if (e.code() == att::ErrorCode::Cancelled) cancelled();
          detail::rethrow_as_runtime(e, seen.layer, head);
        }
      });
    } catch (const att::Error& e) {  // the flag seen between heads
      if (e.code() == att::ErrorCode::Cancelled) cancelled();
      throw;
    }
    scores_ = std::move(scores);
    layer_ = seen.layer;
  }

  // The scores of `layer`, which the pre-fill has just finished.
  LayerScores take(std::int64_t layer) {
    if (layer_ != layer || scores_.empty()) {
      throw Error(ErrorCode::InvalidInput, "", "model", "the pre-fill did not show the search layer " + std::to_string(layer));
    }
    return std::exchange(scores_, {});
  }

 private:
  const SearchState& state_;
  std::int64_t prompt_;
  const SearchSettings& settings_;
  const SearchControl& control_;
  LayerScores scores_;
  std::int64_t layer_ = -1;
};

CalibrationInput describe(const runtime::VideoModel& model, const CalibrationPrompt& p) {
  CalibrationInput in;
  in.name = p.name;
  in.tokens = static_cast<std::int64_t>(p.ids.size());
  const std::int32_t video_token = model.video_shape().video_token;
  for (std::int32_t id : p.ids) in.video_tokens += id == video_token ? 1 : 0;
  detail::Sha256 h;
  hash_span(h, "ids", p.ids);
  hash_span(h, "positions", p.positions);
  for (const auto& g : p.video_grids) {
    const std::int64_t thw[3] = {g.t, g.h, g.w};
    hash_span(h, "grid", std::span<const std::int64_t>(thw));
  }
  hash_span(h, "features", p.video_features);
  for (const auto& v : p.videos) hash_span(h, "pixels", std::span<const float>(v.data));
  in.sha256 = h.hex();
  return in;
}

std::vector<float> encode_videos(const runtime::VideoModel& model, const CalibrationPrompt& p, std::int64_t prompt,
                                 const SearchState& state, const SearchControl& control) {
  std::vector<float> features;
  runtime::RunControl rc;
  rc.cancel = control.cancel;
  rc.on_progress = [&](runtime::Stage, std::int64_t, std::int64_t) {
    report(control, SearchProgress::Stage::encoding, prompt, 0, state);
  };
  for (const auto& video : p.videos) {
    const std::vector<float> f = model.encode_video(video, rc);
    features.insert(features.end(), f.begin(), f.end());
  }
  return features;
}

void search_prompt(const runtime::VideoModel& model, const CalibrationPrompt& p, std::int64_t prompt, SearchState& state,
                   const SearchSettings& settings, const SearchControl& control) {
  std::vector<float> encoded;
  std::span<const float> features = p.video_features;
  if (features.empty() && !p.videos.empty()) {
    encoded = encode_videos(model, p, prompt, state, control);
    features = encoded;
  }
  ScoringObserver observer(state, prompt, settings, control);
  runtime::RunControl rc;
  rc.cancel = control.cancel;
  rc.on_progress = [&](runtime::Stage stage, std::int64_t done, std::int64_t) {
    if (stage != runtime::Stage::Prefill) return;
    const std::int64_t layer = done - 1;
    if (!state.done(prompt, layer)) state.record(prompt, layer, observer.take(layer));
    report(control, SearchProgress::Stage::scoring, prompt, layer, state);
  };
  runtime::PrefillInput input;
  input.ids = p.ids;
  input.positions = p.positions;
  input.video_features = features;
  input.video_grids = p.video_grids;
  input.observer = &observer;
  model.open_conversation()->prefill(input, rc);
}

}  // namespace

PatternFile search_patterns(const runtime::VideoModel& model, const ModelIdentity& identity,
                            std::span<const CalibrationPrompt> prompts, const SearchSettings& settings,
                            const SearchControl& control) {
  if (!(model_sizes(model, identity.config_sha256) == identity)) {
    throw Error(ErrorCode::InvalidInput, "", "identity", "does not describe the model (family or sizes differ)");
  }
  std::vector<CalibrationInput> inputs;
  for (const CalibrationPrompt& p : prompts) inputs.push_back(describe(model, p));
  SearchState state(detail::search_skeleton(identity, std::move(inputs), settings), control.checkpoint);
  const SearchSettings& resolved = state.settings();
  report(control, SearchProgress::Stage::scoring, 0, 0, state);
  try {
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      if (state.prompt_done(static_cast<std::int64_t>(p))) continue;
      search_prompt(model, prompts[p], static_cast<std::int64_t>(p), state, resolved, control);
    }
  } catch (const runtime::Error& e) {
    if (e.code() == runtime::ErrorCode::Cancelled) cancelled();
    throw;
  }
  PatternFile out = state.finish();
  report(control, SearchProgress::Stage::done, state.prompts() - 1, state.layers() - 1, state);
  return out;
}

PatternFile search_patterns_qk(const ModelIdentity& identity, std::span<const QkPrompt> prompts,
                               const SearchSettings& settings, const SearchControl& control) {
  std::vector<CalibrationInput> inputs;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const QkPrompt& p = prompts[i];
    const std::string where = "prompts[" + std::to_string(i) + "]";
    if (static_cast<std::int64_t>(p.q.size()) != identity.layers || p.k.size() != p.q.size()) {
      throw Error(ErrorCode::InvalidInput, "", where, "needs q and k for each of the " + std::to_string(identity.layers) + " layers");
    }
    detail::Sha256 h;
    const std::int64_t n = p.layout.n();
    for (std::size_t l = 0; l < p.q.size(); ++l) {
      const att::HeadsView& q = p.q[l];
      const att::HeadsView& k = p.k[l];
      try {
        att::validate_qk(q, k, true);
      } catch (const att::Error& e) {
        throw Error(ErrorCode::InvalidInput, "", where + ".layer " + std::to_string(l), e.what());
      }
      if (q.heads != identity.heads || k.heads != identity.kv_heads || q.dim != identity.head_dim || q.n != n) {
        throw Error(ErrorCode::InvalidInput, "", where + ".layer " + std::to_string(l),
                    "q/k shapes differ from the identity's heads, kv_heads, head_dim or the layout's length");
      }
      for (const att::HeadsView* t : {&q, &k}) {
        for (std::int64_t head = 0; head < t->heads; ++head) {
          for (std::int64_t r = 0; r < n; ++r) {
            h.update(static_cast<const char*>(t->data) + t->offset(head, r) * att::dtype_size(t->dtype),
                     static_cast<std::size_t>(t->dim * att::dtype_size(t->dtype)));
          }
        }
      }
    }
    for (const att::Segment& s : p.layout.segments()) {
      const std::int64_t seg[5] = {static_cast<std::int64_t>(s.modality), s.tokens, s.t, s.h, s.w};
      hash_span(h, "segment", std::span<const std::int64_t>(seg));
    }
    inputs.push_back({p.name, n, p.layout.video_tokens(), h.hex()});
  }
  SearchState state(detail::search_skeleton(identity, std::move(inputs), settings), control.checkpoint);
  const SearchSettings& resolved = state.settings();
  report(control, SearchProgress::Stage::scoring, 0, 0, state);
  att::RunControl rc;
  rc.threads = control.threads;
  rc.cancel = control.cancel;
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    for (std::int64_t l = 0; l < identity.layers; ++l) {
      if (state.done(static_cast<std::int64_t>(p), l)) continue;
      const QkPrompt& prompt = prompts[p];
      LayerScores scores(static_cast<std::size_t>(identity.heads));
      try {
        att::parallel_for(identity.heads, rc, [&](std::int64_t h) {
          scores[static_cast<std::size_t>(h)] =
              score_candidates(prompt.q[static_cast<std::size_t>(l)], prompt.k[static_cast<std::size_t>(l)], h,
                               prompt.layout, resolved.candidates, resolved.recall_samples, prompt.scale, control.cancel);
        });
      } catch (const att::Error& e) {
        if (e.code() == att::ErrorCode::Cancelled) cancelled();
        throw Error(ErrorCode::InvalidInput, "", "prompts[" + std::to_string(p) + "]", e.what());
      }
      state.record(static_cast<std::int64_t>(p), l, std::move(scores));
      report(control, SearchProgress::Stage::scoring, static_cast<std::int64_t>(p), l, state);
    }
  }
  PatternFile out = state.finish();
  report(control, SearchProgress::Stage::done, state.prompts() - 1, state.layers() - 1, state);
  return out;
}

}  // namespace mmi::patterns
