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
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mmi/attention/patterns.hpp"
#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/preprocess.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl {

enum class Stage { Vision, Prefill, Decode };

// Progress and cancellation for one long call. on_progress reports done/total in the stage's unit: temporal
// patches (vision; total is -1 while a VideoEncoder streams), layers (pre-fill), tokens (decode). cancel is
// polled between chunks, layers and tokens.
struct RunControl {
  std::function<void(Stage stage, std::int64_t done, std::int64_t total)> on_progress;
  const std::atomic<bool>* cancel = nullptr;
};

// Cpu: always the CPU. Cuda: the GPU, or Error(DeviceUnavailable) saying why not (no GPU, no cuBLASLt, built
// without CUDA). Auto: the GPU when one is usable, else the CPU.
enum class Backend { Cpu, Cuda, Auto };

struct LoadOptions {
  int threads = 0;                       // 0: one per hardware thread
  std::int64_t vision_chunk_frames = 1;  // temporal patches encoded at once (memory stays bounded by this)
  std::int64_t token_chunk = 512;        // rows per chunk for the language model's projections and MLP
  Backend backend = Backend::Cpu;
  // CPU backend: the language model split over this many simulated tensor-parallel ranks, run in turn
  // (runtime/tensor_parallel.hpp) — the split and merge of a multi-GPU backend, checked against one rank.
  std::int64_t ranks = 1;
  // GPU backend: activations of the vision tower stay below this (it picks its chunk of temporal patches), and
  // the language model's token chunk is raised to gpu_token_chunk.
  std::uint64_t gpu_vision_bytes = 1ull << 30;
  std::int64_t gpu_token_chunk = 4096;
};

struct ModelInfo {
  std::string family;            // "qwen2_5_vl"
  std::int64_t vision_layers = 0;
  std::int64_t text_layers = 0;
  std::int64_t hidden = 0;
  std::int64_t vocab = 0;
  std::int64_t tensors = 0;
  std::uint64_t weight_bytes = 0;
  std::vector<std::string> dtypes;  // as safetensors names them
  std::vector<std::string> files;   // weight files
  std::string backend;              // "cpu (16 threads)" or "cuda: <GPU>, <cuBLASLt>"
};

// A run of the cached sequence: text, or one video's tokens with its merged grid (t × h/2 × w/2).
struct Segment {
  enum class Kind { Text, Video } kind = Kind::Text;
  std::int64_t begin = 0;
  std::int64_t length = 0;
  std::int64_t t = 0, h = 0, w = 0;  // merged grid, videos only
};

// One head's attention during pre-fill. Queries are the new tokens [q_begin, q_begin + n_q) of the cache;
// keys/values are the cache rows [0, q_begin + n_q). Rows are strided (head_dim contiguous floats each).
struct AttentionCall {
  std::int64_t layer = 0;
  std::int64_t head = 0;
  std::int64_t kv_head = 0;
  std::int64_t head_dim = 0;
  std::int64_t q_begin = 0;
  std::int64_t n_q = 0;
  const float* q = nullptr;
  std::int64_t q_stride = 0;
  const float* k = nullptr;
  const float* v = nullptr;
  std::int64_t kv_stride = 0;
  float* out = nullptr;
  std::int64_t out_stride = 0;
  float scale = 0.0f;
  const std::vector<Segment>* layout = nullptr;  // the whole cached sequence
};

// Chooses the attention of each (layer, head): the pattern file's sparse kernels, or dense. It is called for
// every head of every layer, possibly from several threads at once.
class PrefillAttention {
 public:
  virtual ~PrefillAttention() = default;
  virtual void run(const AttentionCall& call) const = 0;
};

// One layer's post-rotary queries and keys during a pre-fill, in host memory: fp32 on the CPU backend, bf16 as the
// GPU computed them on the GPU backend (the views' dtype says which).
struct LayerQk {
  std::int64_t layer = 0;
  std::int64_t q_begin = 0;  // the queries are cache rows [q_begin, q_begin + q.n)
  attention::HeadsView q;    // [heads, n_q, head_dim]
  attention::HeadsView k;    // [kv_heads, q_begin + n_q, head_dim]: the whole cached sequence
  float scale = 0.0f;
  const std::vector<Segment>* layout = nullptr;  // the whole cached sequence
};

// Sees every layer's q and k of a pre-fill once, in layer order, on the thread that called prefill, while the
// backend computes the attention itself (the offline pattern search scores its candidates here). The views are
// valid during the call only. The GPU backend has already queued the layer's attention and MLP when it calls, so
// the GPU computes them meanwhile. An exception thrown here ends the pre-fill.
class PrefillObserver {
 public:
  virtual ~PrefillObserver() = default;
  virtual void observe(const LayerQk& layer) = 0;
};

// Optional capture of the vision tower's intermediate tensors (for comparison with the reference model).
struct VisionTrace {
  std::vector<float> patch_embed;               // [patches, hidden], processor order
  std::vector<std::int64_t> window_index;       // window position -> raster merged-cell index
  std::vector<std::vector<float>> block_out;    // per block [patches, hidden], window order
  std::vector<float> merger_out;                // [cells, out_hidden], window order
};

class Model {
 public:
  static std::unique_ptr<Model> load(const std::filesystem::path& dir, const LoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Config& config() const;
  const PreprocessorConfig& preprocessor() const;
  const ModelInfo& info() const;

  // Vision features [t·(h/2)·(w/2), hidden] for one video's pixel values, in the order of its <|video_pad|>
  // tokens. Encoded a few temporal patches at a time.
  std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control = {},
                                  VisionTrace* trace = nullptr) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Streams one video through the vision tower with bounded memory: frames (already sampled and resized to
// height × width, RGB) are pushed in order; every complete chunk of temporal patches is patchified and encoded
// at once, so only one chunk of frames and pixel values is held besides the features.
class VideoEncoder {
 public:
  VideoEncoder(const Model& model, std::int64_t height, std::int64_t width, const RunControl& control = {});
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // rgb: frames × height × width × 3 bytes.
  void push(const std::uint8_t* rgb, std::int64_t frames);
  // Encodes what is left (an odd last frame is repeated) and returns the features [t·(h/2)·(w/2), hidden] with
  // the grid; the encoder is empty afterwards.
  std::vector<float> finish(GridTHW* grid);

 private:
  void encode_pending(std::int64_t frames);
  const Model& model_;
  std::int64_t height_, width_;
  RunControl control_;
  std::vector<std::uint8_t> pending_;  // frames not yet encoded
  std::vector<float> features_;
  std::int64_t encoded_t_ = 0;
};

// One video's pixel values, produced a chunk of temporal patches at a time, so a long video streams from its
// frames through the vision tower into the pre-fill without its pixels or features ever being held whole.
struct PixelSource {
  GridTHW grid;
  // Writes temporal patches [t0, t0 + count) into out ([count · h · w, patch_dim] fp32, merge-block order as
  // patchify() lays them out).
  std::function<void(std::int64_t t0, std::int64_t count, float* out)> fill;
};

// GPU backend: the sparse pattern of each (layer, head) of a fresh pre-fill, as a pattern file assigns them
// (mmi::patterns::to_config resolves a file's budgets for the prompt's length). Dense, A-shape, vertical-slash
// and grid run on the GPU; other patterns are refused. Continuations of a cache always run dense.
struct HeadPatterns {
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::vector<attention::PatternConfig> configs;  // [layer · heads + head]
  const attention::PatternConfig& at(std::int64_t layer, std::int64_t head) const {
    return configs[static_cast<std::size_t>(layer * heads + head)];
  }
};

struct PrefillInput {
  std::span<const std::int32_t> ids;
  // Rows t, h, w of n positions each (3·n values). Empty: text continuing the cached sequence.
  std::span<const std::int64_t> positions;
  // Rows for the <|video_pad|> tokens of ids, in order ([count, hidden]).
  std::span<const float> video_features;
  // The grid (in patches) of each video whose tokens are in ids, in order; used for the modality layout.
  std::vector<GridTHW> video_grids;
  const PrefillAttention* attention = nullptr;  // CPU backend: dense causal when null
  // Instead of video_features: each video's pixels, encoded chunk by chunk straight into the pre-fill (their
  // grids are the video grids; video_grids stays empty).
  std::span<const PixelSource> video_sources = {};
  const HeadPatterns* patterns = nullptr;  // GPU backend: dense when null
  PrefillObserver* observer = nullptr;     // either backend
};

// Where the time of the last pre-fill went, and the GPU memory it peaked at (GPU backend; 0 on the CPU).
struct RunStats {
  double vision_ms = 0.0;       // the vision stage's wall time: pixel fills, upload and encoding
  double pixel_fill_ms = 0.0;   // the part spent in the PixelSources' fill calls (on the GPU they overlap encoding)
  double prefill_ms = 0.0;      // language model: embeddings, every layer, the last logits
  double index_ms = 0.0;        // sparse pattern estimation and index building (inside prefill_ms)
  double index_estimate_ms = 0.0;  //   of which the last rows' attention mass and the selections
  double index_build_ms = 0.0;     //   of which building and uploading the indices
  // Per pattern that ran: the key tiles (64 × 64) its heads computed over the tiles of dense causal attention.
  std::vector<std::pair<std::string, double>> pattern_density;
  std::uint64_t peak_device_bytes = 0;
};

// Optional capture of intermediate tensors (for comparison with the reference model).
struct ForwardTrace {
  std::vector<float> inputs_embeds;             // [n, hidden]
  std::vector<std::vector<float>> layer_out;    // per layer [n, hidden]
  std::vector<float> final_norm;                // [n, hidden]
  std::vector<float> logits;                    // [n, vocab]
};

struct DecodeOptions {
  std::int64_t max_tokens = 256;
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  std::int64_t top_k = 0;    // 0: no limit
  std::uint64_t seed = 0;
  std::vector<std::int32_t> stop_ids;
};

struct DecodeResult {
  std::vector<std::int32_t> tokens;  // including the stop token when one ended the answer
  enum class Stop { StopToken, MaxTokens, Caller } stop = Stop::MaxTokens;
};

// A conversation: the KV cache and positions of everything pre-filled or decoded so far. Follow-up questions
// pre-fill only their new tokens after the cached video prefix.
class Session {
 public:
  explicit Session(const Model& model, std::int64_t kv_capacity = 0);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends ids to the cache; returns the logits of the last one [vocab].
  std::vector<float> prefill(const PrefillInput& input, const RunControl& control = {}, ForwardTrace* trace = nullptr);

  // Samples from the last logits, feeds each token back, calls on_token for each (return false to stop).
  // Every emitted token, the stop token included, ends up in the cache.
  DecodeResult decode(const DecodeOptions& options, const std::function<bool(std::int32_t)>& on_token,
                      const RunControl& control = {});

  std::int64_t length() const;         // tokens in the cache
  std::int64_t next_position() const;  // the position the next text token gets (all three rows)
  const std::vector<Segment>& layout() const;
  const std::vector<float>& last_logits() const;
  const RunStats& stats() const;       // of the last pre-fill
  // Drops everything after the first `length` tokens (e.g. to ask another question about the same video).
  void rewind(std::int64_t length);

  struct State;

 private:
  const Model& model_;
  std::unique_ptr<State> state_;
};

}  // namespace mmi::qwen2_5_vl
