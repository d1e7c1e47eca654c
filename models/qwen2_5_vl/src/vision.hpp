// The Qwen2.5-VL vision tower: patch embedding (a GEMM), 2D rotary in fp32, window attention with the
// full-attention blocks, RMSNorm, SwiGLU with bias, the 2×2 merger with exact GELU, and the un-permutation
// back to raster order. Temporal patches are independent, so a video is encoded a chunk at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/preprocess.hpp"
#include "weights.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl {

struct VisionTrace;

// Window layout of one temporal patch of h × w patches: the merged-cell permutation and the window bounds.
struct WindowLayout {
  std::vector<std::int64_t> cell_order;   // window position -> raster merged-cell index
  std::vector<std::int64_t> cu_patches;   // window boundaries in patches (empty windows dropped), from 0
};

WindowLayout window_layout(const VisionConfig& c, std::int64_t h, std::int64_t w);

class VisionTower {
 public:
  VisionTower(const VisionConfig& config, VisionWeights weights, ops::ThreadPool* pool);

  // pixels: [t·h·w, patch_dim] for grid {t, h, w}; out: [t·(h/2)·(w/2), out_hidden] in raster order.
  void encode(const float* pixels, const GridTHW& grid, float* out, VisionTrace* trace) const;

 private:
  const VisionConfig& c_;
  VisionWeights w_;
  ops::ThreadPool* pool_;
};

}  // namespace mmi::qwen2_5_vl
