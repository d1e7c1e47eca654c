#include "vision.hpp"

#include <algorithm>
#include <cmath>

#include "attention.hpp"
#include "mmi/ops/activation.hpp"
#include "mmi/ops/linear.hpp"
#include "mmi/ops/norm.hpp"
#include "mmi/ops/rope.hpp"
#include "mmi/ops/thread_pool.hpp"
#include "mmi/qwen2_5_vl/model.hpp"

namespace mmi::qwen2_5_vl {

WindowLayout window_layout(const VisionConfig& c, std::int64_t h, std::int64_t w) {
  const std::int64_t ch = h / c.merge, cw = w / c.merge, win = c.window_cells();
  // As the reference: pad up to a multiple of the window (a full extra window when already a multiple).
  const std::int64_t wins_h = (ch + win - ch % win) / win;
  const std::int64_t wins_w = (cw + win - cw % win) / win;
  WindowLayout l;
  l.cu_patches.push_back(0);
  for (std::int64_t wy = 0; wy < wins_h; ++wy) {
    for (std::int64_t wx = 0; wx < wins_w; ++wx) {
      std::int64_t count = 0;
      for (std::int64_t y = wy * win; y < std::min((wy + 1) * win, ch); ++y) {
        for (std::int64_t x = wx * win; x < std::min((wx + 1) * win, cw); ++x) {
          l.cell_order.push_back(y * cw + x);
          ++count;
        }
      }
      if (count > 0) l.cu_patches.push_back(l.cu_patches.back() + count * c.merge_unit());
    }
  }
  return l;
}

VisionTower::VisionTower(const VisionConfig& config, VisionWeights weights, ops::ThreadPool* pool)
    : c_(config), w_(std::move(weights)), pool_(pool) {}

namespace {

void append(std::vector<float>& dst, const float* src, std::size_t n) { dst.insert(dst.end(), src, src + n); }

}  // namespace

void VisionTower::encode(const float* pixels, const GridTHW& grid, float* out, VisionTrace* trace) const {
  const std::int64_t D = c_.hidden, hd = c_.head_dim, I = c_.intermediate, U = c_.merge_unit();
  const std::int64_t per_t = grid.h * grid.w;  // patches per temporal patch
  const std::int64_t R = grid.t * per_t;
  const std::int64_t cells_per_t = per_t / U;
  const WindowLayout layout = window_layout(c_, grid.h, grid.w);

  // Patch embedding, then rows permuted into window order (groups of merge_unit patches).
  std::vector<float> embedded(static_cast<std::size_t>(R * D));
  ops::linear(pixels, c_.patch_dim(), R, w_.patch_embed, nullptr, embedded.data(), D, false, pool_);
  std::vector<float> x(static_cast<std::size_t>(R * D));
  for (std::int64_t t = 0; t < grid.t; ++t) {
    for (std::int64_t j = 0; j < cells_per_t; ++j) {
      const float* src = embedded.data() + ((t * cells_per_t + layout.cell_order[static_cast<std::size_t>(j)]) * U) * D;
      std::copy(src, src + U * D, x.data() + ((t * cells_per_t + j) * U) * D);
    }
  }

  // 2D rotary for one temporal patch, in window order: patch (row, col) inside the merge blocks.
  std::vector<std::int64_t> hpos(static_cast<std::size_t>(per_t)), wpos(static_cast<std::size_t>(per_t));
  const std::int64_t cw = grid.w / c_.merge;
  for (std::int64_t j = 0; j < cells_per_t; ++j) {
    const std::int64_t cell = layout.cell_order[static_cast<std::size_t>(j)];
    const std::int64_t cy = cell / cw, cx = cell % cw;
    for (std::int64_t u = 0; u < U; ++u) {
      hpos[static_cast<std::size_t>(j * U + u)] = cy * c_.merge + u / c_.merge;
      wpos[static_cast<std::size_t>(j * U + u)] = cx * c_.merge + u % c_.merge;
    }
  }
  std::vector<float> cos(static_cast<std::size_t>(per_t * hd)), sin(cos.size());
  ops::rope_2d_tables(hpos.data(), wpos.data(), per_t, hd, c_.rope_theta, cos.data(), sin.data());

  // Attention segments over the chunk: one per temporal patch (full blocks) or per window.
  std::vector<std::int64_t> cu_full{0}, cu_win{0};
  for (std::int64_t t = 0; t < grid.t; ++t) {
    cu_full.push_back((t + 1) * per_t);
    for (std::size_t i = 1; i < layout.cu_patches.size(); ++i) cu_win.push_back(t * per_t + layout.cu_patches[i]);
  }

  if (trace) {
    const auto base = static_cast<std::int64_t>(trace->window_index.size());
    for (std::int64_t t = 0; t < grid.t; ++t) {
      for (std::int64_t j = 0; j < cells_per_t; ++j) {
        trace->window_index.push_back(base + t * cells_per_t + layout.cell_order[static_cast<std::size_t>(j)]);
      }
    }
    append(trace->patch_embed, embedded.data(), embedded.size());
    if (trace->block_out.size() < w_.blocks.size()) trace->block_out.resize(w_.blocks.size());
  }
  embedded = {};

  std::vector<float> y(static_cast<std::size_t>(R * D)), qkv(static_cast<std::size_t>(R * 3 * D));
  std::vector<float> attn(static_cast<std::size_t>(R * D));
  std::vector<float> gate(static_cast<std::size_t>(R * I)), up(static_cast<std::size_t>(R * I));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (std::size_t b = 0; b < w_.blocks.size(); ++b) {
    const VisionBlockWeights& bw = w_.blocks[b];
    ops::rms_norm(x.data(), R, D, bw.norm1.data(), c_.norm_eps, y.data());
    ops::linear(y.data(), D, R, bw.qkv.w, bw.qkv.bias(), qkv.data(), 3 * D, false, pool_);
    for (std::int64_t t = 0; t < grid.t; ++t) {
      float* rows = qkv.data() + t * per_t * 3 * D;
      ops::apply_rotary(rows, per_t, c_.heads, hd, 3 * D, cos.data(), sin.data());      // q
      ops::apply_rotary(rows + D, per_t, c_.heads, hd, 3 * D, cos.data(), sin.data());  // k
    }
    const auto& cu = c_.is_full_attention(static_cast<std::int64_t>(b)) ? cu_full : cu_win;
    segment_attention(qkv.data(), 3 * D, qkv.data() + D, qkv.data() + 2 * D, 3 * D, attn.data(), D, cu,
                      {R, c_.heads, c_.heads, hd, scale, pool_ ? pool_->size() : 1});
    ops::linear(attn.data(), D, R, bw.proj.w, bw.proj.bias(), x.data(), D, true, pool_);

    ops::rms_norm(x.data(), R, D, bw.norm2.data(), c_.norm_eps, y.data());
    ops::linear(y.data(), D, R, bw.gate.w, bw.gate.bias(), gate.data(), I, false, pool_);
    ops::linear(y.data(), D, R, bw.up.w, bw.up.bias(), up.data(), I, false, pool_);
    ops::silu_mul(gate.data(), up.data(), gate.data(), R * I);
    ops::linear(gate.data(), I, R, bw.down.w, bw.down.bias(), x.data(), D, true, pool_);
    if (trace) append(trace->block_out[b], x.data(), x.size());
  }

  // Merger: RMSNorm, 2×2 cells as rows of U·D, Linear → GELU → Linear, then back to raster order.
  const std::int64_t cells = R / U, M = U * D;
  ops::rms_norm(x.data(), R, D, w_.merger_norm.data(), c_.norm_eps, y.data());
  std::vector<float> hidden(static_cast<std::size_t>(cells * M));
  ops::linear(y.data(), M, cells, w_.merger_fc1.w, w_.merger_fc1.bias(), hidden.data(), M, false, pool_);
  ops::gelu_erf(hidden.data(), cells * M);
  std::vector<float> merged(static_cast<std::size_t>(cells * c_.out_hidden));
  ops::linear(hidden.data(), M, cells, w_.merger_fc2.w, w_.merger_fc2.bias(), merged.data(), c_.out_hidden, false,
              pool_);
  if (trace) append(trace->merger_out, merged.data(), merged.size());
  for (std::int64_t t = 0; t < grid.t; ++t) {
    for (std::int64_t j = 0; j < cells_per_t; ++j) {
      const float* src = merged.data() + (t * cells_per_t + j) * c_.out_hidden;
      float* dst = out + (t * cells_per_t + layout.cell_order[static_cast<std::size_t>(j)]) * c_.out_hidden;
      std::copy(src, src + c_.out_hidden, dst);
    }
  }
}

}  // namespace mmi::qwen2_5_vl
