// Per-head sparse attention of a fresh GPU pre-fill (PrefillInput::patterns), on the attention core's CUDA code:
// before the layers the patterns are checked and the A-shape indices (they depend on N only) uploaded once; per
// layer, the heads of each kv head are taken in runs of consecutive heads with one pattern and the same budgets,
// and each run is one call: the core's GPU estimation and index builders for vertical-slash (last rows' mass,
// selection, index) and grid (stride and phases per video run, permuted index), then the core's dense or sparse
// kernel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "device_weights.hpp"
#include "mmi/cuda/attention.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/cuda/device.hpp"

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
                  const std::vector<Segment>& layout);
  ~SparseAttention();

  // An upper bound of what the estimation and the indices allocate at once (the core allocates them itself).
  std::uint64_t index_bytes() const;
  // Uploads the prompt-wide indices.
  void prepare(cudaStream_t stream);
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
