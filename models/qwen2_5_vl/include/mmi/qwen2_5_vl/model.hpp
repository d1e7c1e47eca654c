// The Qwen2.5-VL runtime: load a model folder, turn video frames into pixel values and vision features, pre-fill
// a prompt into a KV cache with a per-head attention choice, and decode tokens one by one. Two backends compute
// the same graph: the CPU (fp32 activations over weights in their file dtype) and CUDA (bf16 weights and
// activations on the GPU, fp32 accumulation and residual stream; src/cuda/, README "GPU backend").
//
//   auto model = Model::load("/models/Qwen2.5-VL-7B-Instruct", {.backend = Backend::Auto});
//   PixelValues pv = patchify(frames.data(), n_frames, height, width, model->preprocessor());
//   std::vector<float> features = model->encode_video(pv, control);
//   Session session(*model);
//   session.prefill({ids, positions, features, {pv.grid}}, control);
//   session.decode({.max_tokens = 256, .stop_ids = model->config().eos_token_ids}, on_token, control);
//
// Tokenisation, the chat template, frame sampling and M-RoPE position ids are the prompt rules' job (TypeScript,
// models/qwen2_5_vl/*.ts); this runtime takes token ids and their 3×N positions.
// Errors are mmi::runtime::Error (typed, naming file and tensor); cancellation raises Error(Cancelled).
// Model, Session and VideoEncoder are the runtime's VideoModel, Conversation and VideoStream
// (mmi/runtime/video_model.hpp), which the C API and native/patterns use; family.hpp names the family to the C API.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/preprocess.hpp"
#include "mmi/runtime/prefill_hooks.hpp"
#include "mmi/runtime/video_model.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl {

// The model-neutral types of a run (native/runtime: prefill_hooks.hpp, video_model.hpp), by their short names.
using runtime::AttentionCall;
using runtime::Backend;
using runtime::DecodeOptions;
using runtime::DecodeResult;
using runtime::HeadPatterns;
using runtime::HeatmapRequest;
using runtime::LayerQk;
using runtime::LoadOptions;
using runtime::ModelInfo;
using runtime::PixelSource;
using runtime::PrefillAttention;
using runtime::PrefillHeatmap;
using runtime::PrefillInput;
using runtime::PrefillObserver;
using runtime::RunControl;
using runtime::RunStats;
using runtime::Segment;
using runtime::Stage;

// Optional capture of the vision tower's intermediate tensors (for comparison with the reference model).
struct VisionTrace {
  std::vector<float> patch_embed;               // [patches, hidden], processor order
  std::vector<std::int64_t> window_index;       // window position -> raster merged-cell index
  std::vector<std::vector<float>> block_out;    // per block [patches, hidden], window order
  std::vector<float> merger_out;                // [cells, out_hidden], window order
};

class Model final : public runtime::VideoModel {
 public:
  static std::unique_ptr<Model> load(const std::filesystem::path& dir, const LoadOptions& options = {});
  ~Model() override;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Config& config() const;
  const PreprocessorConfig& preprocessor() const;
  const ModelInfo& info() const override;
  runtime::TextShape text_shape() const override;
  runtime::VideoShape video_shape() const override;

  // Vision features [t·(h/2)·(w/2), hidden] for one video's pixel values, in the order of its <|video_pad|>
  // tokens. Encoded a few temporal patches at a time.
  std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control = {}) const override {
    return encode_video(pixels, control, nullptr);
  }
  std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control, VisionTrace* trace) const;

  // A VideoEncoder of this model; a Session of this model.
  std::unique_ptr<runtime::VideoStream> stream_video(std::int64_t height, std::int64_t width,
                                                     const RunControl& control = {}) const override;
  std::unique_ptr<runtime::Conversation> open_conversation(std::int64_t kv_capacity = 0) const override;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Streams one video through the vision tower with bounded memory: frames (already sampled and resized to
// height × width, RGB) are pushed in order; every complete chunk of temporal patches is patchified and encoded
// at once, so only one chunk of frames and pixel values is held besides the features.
class VideoEncoder final : public runtime::VideoStream {
 public:
  VideoEncoder(const Model& model, std::int64_t height, std::int64_t width, const RunControl& control = {});
  ~VideoEncoder() override;
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // rgb: frames × height × width × 3 bytes.
  void push(const std::uint8_t* rgb, std::int64_t frames) override;
  // Encodes what is left (an odd last frame is repeated) and returns the features [t·(h/2)·(w/2), hidden] with
  // the grid; the encoder is empty afterwards.
  std::vector<float> finish(GridTHW* grid) override;

 private:
  void encode_pending(std::int64_t frames);
  const Model& model_;
  std::int64_t height_, width_;
  RunControl control_;
  std::vector<std::uint8_t> pending_;  // frames not yet encoded
  std::vector<float> features_;
  std::int64_t encoded_t_ = 0;
};

// Optional capture of intermediate tensors (for comparison with the reference model).
struct ForwardTrace {
  std::vector<float> inputs_embeds;             // [n, hidden]
  std::vector<std::vector<float>> layer_out;    // per layer [n, hidden]
  std::vector<float> final_norm;                // [n, hidden]
  std::vector<float> logits;                    // [n, vocab]
};

// A conversation: the KV cache and positions of everything pre-filled or decoded so far. Follow-up questions
// pre-fill only their new tokens after the cached video prefix.
class Session final : public runtime::Conversation {
 public:
  explicit Session(const Model& model, std::int64_t kv_capacity = 0);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends ids to the cache; returns the logits of the last one [vocab].
  std::vector<float> prefill(const PrefillInput& input, const RunControl& control = {}) override {
    return prefill(input, control, nullptr);
  }
  std::vector<float> prefill(const PrefillInput& input, const RunControl& control, ForwardTrace* trace);

  // Samples from the last logits, feeds each token back, calls on_token for each (return false to stop).
  // Every emitted token, the stop token included, ends up in the cache.
  DecodeResult decode(const DecodeOptions& options, const std::function<bool(std::int32_t)>& on_token,
                      const RunControl& control = {}) override;

  std::int64_t length() const override;         // tokens in the cache
  std::int64_t next_position() const override;  // the position the next text token gets (all three rows)
  const std::vector<Segment>& layout() const override;
  const std::vector<float>& last_logits() const override;
  const RunStats& stats() const override;       // of the last pre-fill
  // Drops everything after the first `length` tokens (e.g. to ask another question about the same video).
  void rewind(std::int64_t length) override;

  struct State;

 private:
  const Model& model_;
  std::unique_ptr<State> state_;
};

}  // namespace mmi::qwen2_5_vl
