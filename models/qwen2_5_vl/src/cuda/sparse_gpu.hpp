// Per-head sparse attention of a fresh GPU pre-fill (PrefillInput::patterns). Before the layers: the patterns are
// checked and the A-shape indices (they depend on N only) uploaded once. Per layer: the vertical-slash heads' last
// 64 queries are scored on the GPU (ops::cuda::attention_mass, top_k_ascending) and their index is built by the
// attention core's GPU builder; grid heads get their phases from the attention mass of their video runs' last rows
// (the period is the layout's h·w) and their permuted index from the core's CPU index builder. The heads of each
// kv group are then run as few launches as possible: each maximal run of consecutive heads with one kind of index
// is one call of the core's dense or sparse kernel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "device_weights.hpp"
#include "mmi/cuda/attention.hpp"
#include "mmi/qwen2_5_vl/engine.hpp"
#include "mmi/runtime/cuda/device.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl::gpu {

// q: [heads][n][head_dim]; k, v: the layer's cache, [kv_heads][capacity][head_dim]; o like q.
struct LayerTensors {
  const ops::cuda::bf16* q = nullptr;
  const ops::cuda::bf16* k = nullptr;
  const ops::cuda::bf16* v = nullptr;
  ops::cuda::bf16* o = nullptr;
  std::int64_t capacity = 0;
};

class SparseAttention {
 public:
  // Error(InvalidInput) for a pattern the GPU does not run or patterns of another model's shape.
  SparseAttention(const TextConfig& config, const HeadPatterns& patterns, std::int64_t n,
                  const std::vector<Segment>& layout, ops::ThreadPool* pool);
  ~SparseAttention();

  // Device bytes of the arena part (estimation buffers) and an upper bound of the indices allocated per layer.
  std::uint64_t arena_bytes() const;
  std::uint64_t index_bytes() const;
  // Takes the estimation buffers and uploads the prompt-wide indices.
  void prepare(runtime::cuda::Arena& arena, cudaStream_t stream);
  // Estimates the layer's indices and runs its attention; adds the index times to stats.
  void run(std::int64_t layer, const LayerTensors& t, cudaStream_t stream, RunStats& stats);
  // The density of each pattern over the layers run so far.
  std::vector<std::pair<std::string, double>> density() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The core's dense causal kernel on every head (fresh pre-fills at head dims it takes).
void dense_attention(const TextConfig& config, std::int64_t n, const LayerTensors& t, cudaStream_t stream);
// Head dims the attention core's CUDA kernels take.
bool core_kernels_take(std::int64_t head_dim);

}  // namespace mmi::qwen2_5_vl::gpu
