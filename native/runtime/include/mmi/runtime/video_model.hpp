// What a video-language model family takes and gives, whatever its graph: how it loads, one video's pixels and their
// grid, a pre-fill's input (token ids, positions, video features or pixel sources, the attention hooks), a decode's
// options and result, and what it reports about itself and its last pre-fill (docs/architecture.md §4).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
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

}  // namespace mmi::runtime
