#include "vision_gpu.hpp"

#include <algorithm>
#include <cmath>

#include "../vision.hpp"
#include "mmi/ops/cuda/attention.hpp"
#include "mmi/ops/cuda/ops.hpp"
#include "mmi/ops/rope.hpp"

namespace mmi::qwen2_5_vl::gpu {

namespace rc = runtime::cuda;
namespace oc = ops::cuda;

namespace {

template <typename T>
std::vector<T> download(const T* src, std::size_t count, cudaStream_t stream) {
  std::vector<T> out(count);
  rc::copy_to_host(out.data(), src, count * sizeof(T), stream);
  return out;
}

void append(std::vector<float>& dst, const std::vector<float>& src) { dst.insert(dst.end(), src.begin(), src.end()); }

}  // namespace

GpuVision::GpuVision(const VisionConfig& config, const DeviceWeights& weights) : c_(config), w_(weights) {}

std::uint64_t GpuVision::scratch_bytes(std::int64_t t_chunk, std::int64_t h, std::int64_t w) const {
  const std::int64_t D = c_.hidden, I = c_.intermediate, P = c_.patch_dim(), U = c_.merge_unit();
  const std::int64_t R = t_chunk * h * w;
  const std::uint64_t a = rc::Arena::kAlign;
  const auto f32 = [&](std::int64_t n) { return rc::Arena::aligned(static_cast<std::size_t>(n) * 4); };
  const auto b16 = [&](std::int64_t n) { return rc::Arena::aligned(static_cast<std::size_t>(n) * 2); };
  const auto i64 = [&](std::int64_t n) { return rc::Arena::aligned(static_cast<std::size_t>(n) * 8); };
  // gu also holds the patch embedding and the merger's output; qkv the merger's first layer.
  const std::int64_t gu = std::max({R * 2 * I, R * D, (R / U) * c_.out_hidden});
  const std::int64_t per_t = h * w;
  const std::int64_t windows = per_t / U + 1;  // an upper bound on windows per temporal patch
  return f32(R * P) + b16(R * P) + f32(R * D) + b16(R * D) + f32(R * 3 * D) + 3 * b16(R * D) + b16(R * D) + f32(gu) +
         b16(R * I) + i64(R) + i64(R / U) + i64(3 * per_t) + i64(t_chunk + 1) + i64(t_chunk * windows + 1) +
         rc::Arena::aligned(static_cast<std::size_t>(c_.head_dim / 2) * 8) + 4 * a;
}

std::int64_t GpuVision::chunk_for(std::int64_t h, std::int64_t w, std::uint64_t budget) const {
  const std::uint64_t one = scratch_bytes(1, h, w);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(budget / std::max<std::uint64_t>(one, 1)));
}

void GpuVision::prepare(std::int64_t t_chunk, std::int64_t h, std::int64_t w, rc::Arena& arena, cudaStream_t stream) {
  const std::int64_t D = c_.hidden, I = c_.intermediate, P = c_.patch_dim(), U = c_.merge_unit();
  t_chunk_ = t_chunk;
  h_ = h;
  w_patches_ = w;
  const std::int64_t per_t = h * w, R = t_chunk * per_t, cells = per_t / U;
  pixels_ = arena.take<float>(static_cast<std::size_t>(R * P));
  pixels_bf16_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * P));
  x_ = arena.take<float>(static_cast<std::size_t>(R * D));
  y_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * D));
  qkv_ = arena.take<float>(static_cast<std::size_t>(R * 3 * D));
  q_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * D));
  k_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * D));
  v_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * D));
  attn_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * D));
  gu_ = arena.take<float>(static_cast<std::size_t>(std::max({R * 2 * I, R * D, (R / U) * c_.out_hidden})));
  act_ = arena.take<oc::bf16>(static_cast<std::size_t>(R * I));

  // Window order of one temporal patch, repeated for each patch of the chunk.
  const WindowLayout layout = window_layout(c_, h, w);
  cell_order_ = layout.cell_order;
  windows_ = static_cast<std::int64_t>(layout.cu_patches.size()) - 1;
  std::vector<std::int64_t> gather(static_cast<std::size_t>(R)), scatter(static_cast<std::size_t>(R / U));
  for (std::int64_t t = 0; t < t_chunk; ++t) {
    for (std::int64_t j = 0; j < cells; ++j) {
      const std::int64_t cell = t * cells + layout.cell_order[static_cast<std::size_t>(j)];
      scatter[static_cast<std::size_t>(t * cells + j)] = cell;
      for (std::int64_t u = 0; u < U; ++u) gather[static_cast<std::size_t>((t * cells + j) * U + u)] = cell * U + u;
    }
  }
  std::vector<std::int64_t> positions(static_cast<std::size_t>(3 * per_t), 0);
  const std::int64_t cw = w / c_.merge;
  for (std::int64_t j = 0; j < cells; ++j) {
    const std::int64_t cell = layout.cell_order[static_cast<std::size_t>(j)];
    for (std::int64_t u = 0; u < U; ++u) {
      positions[static_cast<std::size_t>(per_t + j * U + u)] = (cell / cw) * c_.merge + u / c_.merge;
      positions[static_cast<std::size_t>(2 * per_t + j * U + u)] = (cell % cw) * c_.merge + u % c_.merge;
    }
  }
  std::vector<std::int64_t> cu_full{0}, cu_window{0};
  for (std::int64_t t = 0; t < t_chunk; ++t) {
    cu_full.push_back((t + 1) * per_t);
    for (std::size_t i = 1; i < layout.cu_patches.size(); ++i) cu_window.push_back(t * per_t + layout.cu_patches[i]);
  }
  // Rotary: the first half of the angles follow the patch row, the second the column (kernels/ops rope_2d_tables).
  const std::vector<float> inv = ops::rope_inv_freq(c_.head_dim / 2, c_.rope_theta);
  const auto quarter = static_cast<std::int64_t>(inv.size());
  std::vector<std::int32_t> select(static_cast<std::size_t>(2 * quarter));
  std::vector<float> freq(static_cast<std::size_t>(2 * quarter));
  for (std::int64_t j = 0; j < quarter; ++j) {
    select[static_cast<std::size_t>(j)] = 1;
    select[static_cast<std::size_t>(quarter + j)] = 2;
    freq[static_cast<std::size_t>(j)] = freq[static_cast<std::size_t>(quarter + j)] = inv[static_cast<std::size_t>(j)];
  }
  auto upload = [&](const auto& host, auto*& dst) {
    using T = std::remove_reference_t<decltype(*dst)>;
    dst = arena.take<T>(host.size());
    rc::copy_to_device(dst, host.data(), host.size() * sizeof(T), stream);
  };
  upload(gather, gather_);
  upload(scatter, scatter_);
  upload(positions, positions_);
  upload(cu_full, cu_full_);
  upload(cu_window, cu_window_);
  upload(select, rope_select_);
  upload(freq, rope_freq_);
}

void GpuVision::encode(std::int64_t tc, float* dst, std::int64_t ld, rc::Gemm& gemm, cudaStream_t stream,
                       VisionTrace* trace, std::int64_t first_cell) {
  const std::int64_t D = c_.hidden, I = c_.intermediate, P = c_.patch_dim(), U = c_.merge_unit(), hd = c_.head_dim;
  const std::int64_t per_t = h_ * w_patches_, R = tc * per_t, cells = R / U, M = U * D;

  oc::to_bf16(pixels_, R * P, pixels_bf16_, stream);
  float* embedded = gu_;
  gemm.linear(pixels_bf16_, P, R, w_.patch_embed.w, D, P, embedded, rc::OutType::F32, D, false);
  oc::copy_rows(embedded, D, gather_, x_, D, nullptr, R, D, nullptr, stream);
  if (trace) {
    append(trace->patch_embed, download(embedded, static_cast<std::size_t>(R * D), stream));
    for (std::int64_t t = 0; t < tc; ++t) {
      for (std::int64_t j = 0; j < per_t / U; ++j) {
        trace->window_index.push_back(first_cell + t * (per_t / U) + cell_order_[static_cast<std::size_t>(j)]);
      }
    }
    if (trace->block_out.size() < w_.vision.size()) trace->block_out.resize(w_.vision.size());
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (std::size_t b = 0; b < w_.vision.size(); ++b) {
    const DVisionBlock& bw = w_.vision[b];
    oc::rms_norm(x_, D, R, D, bw.norm1, c_.norm_eps, y_, D, stream);
    gemm.linear(y_, D, R, bw.qkv.w, 3 * D, D, qkv_, rc::OutType::F32, 3 * D, false);
    oc::QkvSplit split;
    split.qkv = qkv_;
    split.ld = 3 * D;
    split.bias = bw.qkv.b;
    split.rows = R;
    split.hq = split.hkv = static_cast<int>(c_.heads);
    split.head_dim = static_cast<int>(hd);
    split.pos = positions_;
    split.pos_stride = per_t;
    split.pos_period = per_t;
    split.select = rope_select_;
    split.freq = rope_freq_;
    split.q = q_;
    split.k = k_;
    split.v = v_;
    split.q_row = split.k_row = split.v_row = D;
    split.q_head = split.k_head = split.v_head = hd;
    oc::rope_split_qkv(split, stream);

    oc::FlashParams fa;
    fa.q = q_;
    fa.k = k_;
    fa.v = v_;
    fa.o = attn_;
    fa.q_row = fa.k_row = fa.v_row = fa.o_row = D;
    fa.q_head = fa.k_head = fa.v_head = fa.o_head = hd;
    fa.n_q = R;
    fa.heads = static_cast<int>(c_.heads);
    fa.group = 1;
    fa.head_dim = static_cast<int>(hd);
    fa.scale = scale;
    const bool full = c_.is_full_attention(static_cast<std::int64_t>(b));
    fa.cu = full ? cu_full_ : cu_window_;
    fa.segments = static_cast<int>(full ? tc : tc * windows_);
    oc::flash_attention(fa, stream);

    if (bw.proj.b) oc::add_bias(x_, D, R, D, bw.proj.b, stream);
    gemm.linear(attn_, D, R, bw.proj.w, D, D, x_, rc::OutType::F32, D, true);
    oc::rms_norm(x_, D, R, D, bw.norm2, c_.norm_eps, y_, D, stream);
    gemm.linear(y_, D, R, bw.gate_up.w, 2 * I, D, gu_, rc::OutType::F32, 2 * I, false);
    oc::silu_mul(gu_, true, 2 * I, R, I, bw.gate_up.b, act_, I, stream);
    if (bw.down.b) oc::add_bias(x_, D, R, D, bw.down.b, stream);
    gemm.linear(act_, I, R, bw.down.w, D, I, x_, rc::OutType::F32, D, true);
    if (trace) append(trace->block_out[b], download(x_, static_cast<std::size_t>(R * D), stream));
  }

  // Merger: RMSNorm, 2×2 cells as rows of U·D, Linear → GELU → Linear, rows back to raster order.
  oc::rms_norm(x_, D, R, D, w_.merger_norm, c_.norm_eps, y_, D, stream);
  float* hidden = qkv_;
  gemm.linear(y_, M, cells, w_.merger_fc1.w, M, M, hidden, rc::OutType::F32, M, false);
  oc::gelu_bias(hidden, M, cells, M, w_.merger_fc1.b, attn_, M, stream);
  float* merged = gu_;
  gemm.linear(attn_, M, cells, w_.merger_fc2.w, c_.out_hidden, M, merged, rc::OutType::F32, c_.out_hidden, false);
  if (trace) {
    std::vector<float> m = download(merged, static_cast<std::size_t>(cells * c_.out_hidden), stream);
    if (w_.merger_fc2.b) {
      const std::vector<float> bias = download(w_.merger_fc2.b, static_cast<std::size_t>(c_.out_hidden), stream);
      for (std::size_t i = 0; i < m.size(); ++i) m[i] += bias[i % bias.size()];
    }
    append(trace->merger_out, m);
  }
  oc::copy_rows(merged, c_.out_hidden, nullptr, dst, ld, scatter_, cells, c_.out_hidden, w_.merger_fc2.b, stream);
}

}  // namespace mmi::qwen2_5_vl::gpu
