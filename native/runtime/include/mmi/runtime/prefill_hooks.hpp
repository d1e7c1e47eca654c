// The model-neutral hooks of a pre-fill: progress and cancellation of a long call, the modality layout of the cached
// sequence, the per-head attention call a model hands to a PrefillAttention (the CPU backend), the per-head sparse
// patterns a GPU backend runs (HeadPatterns), and the per-layer q/k a PrefillObserver sees. A model family calls
// them; native/patterns implements them (docs/architecture.md §2, docs/algorithm.md §8).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/tensor.hpp"

namespace mmi::runtime {

enum class Stage { Vision, Prefill, Decode };

// Progress and cancellation for one long call. on_progress reports done/total in the stage's unit: temporal
// patches (vision; total is -1 while a video streams), layers (pre-fill), tokens (decode). cancel is polled between
// chunks, layers and tokens.
struct RunControl {
  std::function<void(Stage stage, std::int64_t done, std::int64_t total)> on_progress;
  const std::atomic<bool>* cancel = nullptr;
};

// A run of the cached sequence: text, or one video's tokens with its merged grid (t × h/merge × w/merge).
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
// valid during the call only. A GPU backend has already queued the layer's attention and MLP when it calls, so
// the GPU computes them meanwhile. An exception thrown here ends the pre-fill.
class PrefillObserver {
 public:
  virtual ~PrefillObserver() = default;
  virtual void observe(const LayerQk& layer) = 0;
};

// GPU backend: the sparse pattern of each (layer, head) of a fresh pre-fill, as a pattern file assigns them
// (mmi::patterns::head_patterns resolves a file's budgets for the prompt's length). Continuations of a cache always
// run dense.
struct HeadPatterns {
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::vector<attention::PatternConfig> configs;  // [layer · heads + head]
  const attention::PatternConfig& at(std::int64_t layer, std::int64_t head) const {
    return configs[static_cast<std::size_t>(layer * heads + head)];
  }
};

// GPU backend: one head's heatmap of a fresh pre-fill (docs/algorithm.md §7), the attention core's heatmap on the
// index the head ran (the full causal index for a dense head), computed on the device from the layer's q and k.
struct PrefillHeatmap {
  std::int64_t layer = 0;
  std::int64_t head = 0;
  attention::Pattern pattern = attention::Pattern::dense;  // what ran
  std::vector<attention::GridChoice> grid;                 // grid heads: the estimator's choice per video run
  attention::Heatmap heatmap;                              // heatmap.head is `head`
};

// GPU backend: the heads whose heatmaps a fresh pre-fill delivers, each after its layer's attention, on the thread
// that called prefill (an exception thrown by deliver ends the pre-fill).
struct HeatmapRequest {
  struct Head {
    std::int64_t layer = 0, head = 0;
  };
  std::vector<Head> heads;
  attention::HeatmapOptions options;
  std::function<void(const PrefillHeatmap&)> deliver;
};

}  // namespace mmi::runtime
