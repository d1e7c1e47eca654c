// The vision tower on the GPU, one chunk of temporal patches at a time (they are independent): patch embedding
// (GEMM), window order, 2D rotary, window / full attention (flash_attention over the windows' and temporal
// patches' segments), SwiGLU, the 2×2 merger with exact GELU, and the merged features written straight to their
// rows in raster order (the un-permutation fused into that copy) — the pre-fill's hidden state, or a buffer that
// goes back to the host.
#pragma once

#include <cstdint>
#include <vector>

#include "device_weights.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/cuda/gemm.hpp"

namespace mmi::qwen2_5_vl::gpu {

class GpuVision {
 public:
  GpuVision(const VisionConfig& config, const DeviceWeights& weights);

  // Temporal patches per chunk so the chunk's activations stay within budget (at least one).
  std::int64_t chunk_for(std::int64_t h, std::int64_t w, std::uint64_t budget) const;
  // Device bytes prepare() takes for chunks of t_chunk temporal patches of h × w patches.
  std::uint64_t scratch_bytes(std::int64_t t_chunk, std::int64_t h, std::int64_t w) const;

  // Carves the chunk's buffers and the frame-size tables (window order, positions, segments) out of arena.
  void prepare(std::int64_t t_chunk, std::int64_t h, std::int64_t w, runtime::cuda::Arena& arena, cudaStream_t stream);
  // Device fp32 pixel buffer of the prepared chunk ([t_chunk · h · w, patch_dim]): fill it, then encode.
  float* pixels() const { return pixels_; }
  // Encodes tc <= t_chunk temporal patches from pixels(); writes [tc · cells, out_hidden] fp32 rows in raster order
  // to dst (device, row stride ld). trace: appends this chunk's stages (window_index offset by first_cell).
  void encode(std::int64_t tc, float* dst, std::int64_t ld, runtime::cuda::Gemm& gemm, cudaStream_t stream,
              VisionTrace* trace, std::int64_t first_cell);

 private:
  const VisionConfig& c_;
  const DeviceWeights& w_;
  std::int64_t t_chunk_ = 0, h_ = 0, w_patches_ = 0, windows_ = 0;
  std::vector<std::int64_t> cell_order_;  // window position -> raster cell, one temporal patch
  float* pixels_ = nullptr;
  ops::cuda::bf16* pixels_bf16_ = nullptr;
  float* x_ = nullptr;
  ops::cuda::bf16* y_ = nullptr;
  float* qkv_ = nullptr;
  ops::cuda::bf16 *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *attn_ = nullptr, *act_ = nullptr;
  float* gu_ = nullptr;
  std::int64_t* gather_ = nullptr;   // window-order row -> processor-order row
  std::int64_t* scatter_ = nullptr;  // window-order cell -> raster cell
  std::int64_t* positions_ = nullptr;  // 3 rows (t, h, w) of one temporal patch, window order
  std::int64_t* cu_full_ = nullptr;
  std::int64_t* cu_window_ = nullptr;
  std::int32_t* rope_select_ = nullptr;
  float* rope_freq_ = nullptr;
};

}  // namespace mmi::qwen2_5_vl::gpu
