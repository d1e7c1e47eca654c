// Per-head sparse attention of a fresh GPU pre-fill (PrefillInput::patterns), on the attention core's CUDA code:
// before the layers the patterns are checked, the A-shape indices (they depend on N only) uploaded and, for the
// boundary patterns, the prompt's modality order put on the device, once; per layer, the heads of each kv head are
// taken in runs of consecutive heads with one pattern and the same budgets, and each run is one call: the core's GPU
// estimation and index builders for vertical-slash (last rows' mass, selection, index), grid (stride and phases per
// video run, permuted index), block-sparse (pooled block scores, top-k) and Q-/2D-boundary (per-region
// vertical-slash in the modality order), then the core's dense or sparse kernel. Nothing goes to the host per layer
// but the lists' sizes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "device_weights.hpp"
#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/estimate.hpp"
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

// The heatmaps a pre-fill was asked for (HeatmapRequest), computed on the device by the attention core's heatmap
// kernels from the layer's q and k and the index each head ran; the full causal index (uploaded on first use) for
// dense heads.
class HeatmapCapture {
 public:
  HeatmapCapture(const TextConfig& config, const HeatmapRequest& request, std::int64_t n,
                 const std::vector<Segment>& layout);
  ~HeatmapCapture();

  bool wants(std::int64_t layer, std::int64_t first, std::int64_t count) const;
  // Heads [first, first + count) of kv head `kv_head` ran `pattern` over `index` (null: dense; its heads are the
  // run's); grid: the run's estimator choices [head - first][video run], empty for other patterns.
  void capture(std::int64_t layer, const LayerTensors& t, int first, int count, int kv_head,
               const mmi::cuda::DeviceIndexView* index, attention::Pattern pattern,
               const std::vector<std::vector<mmi::cuda::GridRunChoice>>& grid, cudaStream_t stream);
  // Every kv head's heads of a layer that ran dense.
  void capture_dense(std::int64_t layer, const LayerTensors& t, cudaStream_t stream);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SparseAttention {
 public:
  // Error(InvalidInput) for patterns of another model's shape or budgets beyond the GPU grid index's limits.
  SparseAttention(const TextConfig& config, const HeadPatterns& patterns, std::int64_t n,
                  const std::vector<Segment>& layout);
  ~SparseAttention();

  // An upper bound of what the estimation and the indices allocate at once (the core allocates them itself).
  std::uint64_t index_bytes() const;
  // Uploads the prompt-wide indices.
  void prepare(cudaStream_t stream);
  // Estimates the layer's indices and runs its attention; adds the index times to stats. With `heatmaps`, the
  // layer's requested heads' heatmaps are taken on the indices that ran.
  void run(std::int64_t layer, const LayerTensors& t, cudaStream_t stream, RunStats& stats,
           HeatmapCapture* heatmaps = nullptr);
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
