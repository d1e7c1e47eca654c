// A video-language model, whatever its family (docs/architecture.md §4): VideoModel (its sizes, vision features,
// conversations) and Conversation (a KV cache: pre-fill, decode, rewind), what they take and give (how a folder
// loads, one video's pixels and their grid, a pre-fill's input with its attention hooks, a decode's options and
// result, what the model reports about itself and its last pre-fill), and ModelFamily, with which a family's
// loader registers in the C API. native/patterns and native/capi use models through these alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmi/runtime/prefill_hooks.hpp"

namespace mmi::runtime {

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

struct GridTHW {
  std::int64_t t = 0, h = 0, w = 0;  // temporal patches, patch rows, patch columns
  std::int64_t patches() const { return t * h * w; }
};

// One video's pixel values as the family's vision tower reads them.
struct PixelValues {
  std::vector<float> data;  // [grid.patches(), patch_dim]: channels · temporal patch · patch · patch per patch
  GridTHW grid;
};

// One video's pixel values, produced a chunk of temporal patches at a time, so a long video streams from its
// frames through the vision tower into the pre-fill without its pixels or features ever being held whole.
struct PixelSource {
  GridTHW grid;
  // Writes temporal patches [t0, t0 + count) into out ([count · h · w, patch_dim] fp32, in the order the family's
  // patchify lays them out).
  std::function<void(std::int64_t t0, std::int64_t count, float* out)> fill;
};

struct PrefillInput {
  std::span<const std::int32_t> ids;
  // Rows t, h, w of n positions each (3·n values). Empty: text continuing the cached sequence.
  std::span<const std::int64_t> positions;
  // Rows for the video tokens of ids, in order ([count, hidden]).
  std::span<const float> video_features;
  // The grid (in patches) of each video whose tokens are in ids, in order; used for the modality layout.
  std::vector<GridTHW> video_grids;
  const PrefillAttention* attention = nullptr;  // CPU backend: dense causal when null
  // Instead of video_features: each video's pixels, encoded chunk by chunk straight into the pre-fill (their
  // grids are the video grids; video_grids stays empty).
  std::span<const PixelSource> video_sources = {};
  const HeadPatterns* patterns = nullptr;  // GPU backend: dense when null
  PrefillObserver* observer = nullptr;     // either backend
  const HeatmapRequest* heatmaps = nullptr;  // GPU backend: none when null
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

// The language model's attention sizes (what a pattern file is made for) and its embedding and vocabulary sizes.
struct TextShape {
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t hidden = 0;
  std::int64_t vocab = 0;
};

// What a prompt builder needs of the family's video input: the special tokens around and inside a video, the
// tokens that end an answer, and how frames become tokens (patch side, merged cells, frames per temporal patch, the
// pixel budget of a frame).
struct VideoShape {
  std::int32_t video_token = 0;
  std::int32_t vision_start_token = 0;
  std::int32_t vision_end_token = 0;
  std::vector<std::int32_t> eos_tokens;
  std::int64_t patch = 0;
  std::int64_t merge = 0;
  std::int64_t temporal_patch = 0;
  std::int64_t tokens_per_second = 0;
  std::int64_t min_pixels = 0;
  std::int64_t max_pixels = 0;
};

// One video streamed through the vision tower with bounded memory: frames (already sampled and resized, RGB) are
// pushed in order; finish() encodes what is left and returns the features [video tokens, hidden] with the grid.
class VideoStream {
 public:
  virtual ~VideoStream() = default;
  // rgb: frames × height × width × 3 bytes.
  virtual void push(const std::uint8_t* rgb, std::int64_t frames) = 0;
  virtual std::vector<float> finish(GridTHW* grid) = 0;
};

// A conversation: the KV cache and positions of everything pre-filled or decoded so far. Follow-up questions
// pre-fill only their new tokens after the cached prefix.
class Conversation {
 public:
  virtual ~Conversation() = default;
  // Appends ids to the cache; returns the logits of the last one [vocab].
  virtual std::vector<float> prefill(const PrefillInput& input, const RunControl& control = {}) = 0;
  // Samples from the last logits, feeds each token back, calls on_token for each (return false to stop). Every
  // emitted token, the stop token included, ends up in the cache.
  virtual DecodeResult decode(const DecodeOptions& options, const std::function<bool(std::int32_t)>& on_token,
                              const RunControl& control = {}) = 0;
  virtual std::int64_t length() const = 0;         // tokens in the cache
  virtual std::int64_t next_position() const = 0;  // the position the next text token gets (all three rows)
  virtual const std::vector<Segment>& layout() const = 0;
  virtual const std::vector<float>& last_logits() const = 0;
  virtual const RunStats& stats() const = 0;  // of the last pre-fill
  // Drops everything after the first `length` tokens (e.g. to ask another question about the same video).
  virtual void rewind(std::int64_t length) = 0;
};

// A loaded video-language model, whatever its family: what the C API and native/patterns use of it. The work on
// one model runs from one thread at a time.
class VideoModel {
 public:
  virtual ~VideoModel() = default;
  virtual const ModelInfo& info() const = 0;
  virtual TextShape text_shape() const = 0;
  virtual VideoShape video_shape() const = 0;
  // Vision features [video tokens, hidden] for one video's pixel values, in the order of its video tokens.
  virtual std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control = {}) const = 0;
  // A stream of frames of height × width into the vision tower.
  virtual std::unique_ptr<VideoStream> stream_video(std::int64_t height, std::int64_t width,
                                                    const RunControl& control = {}) const = 0;
  // A conversation over this model (kv_capacity 0: the family's default); it must not outlive the model.
  virtual std::unique_ptr<Conversation> open_conversation(std::int64_t kv_capacity = 0) const = 0;
};

// A model family as the C API knows it: the config.json values that name it and how to load a folder of it.
struct ModelFamily {
  std::string_view name;                         // "qwen2_5_vl"
  std::vector<std::string_view> model_types;     // config.json's model_type values it reads
  std::vector<std::string_view> architectures;   // config.json's architectures entries it reads
  std::unique_ptr<VideoModel> (*load)(const std::filesystem::path& dir, const LoadOptions& options);
};

}  // namespace mmi::runtime
