// The GPU backend: weights uploaded once, the vision tower per chunk of temporal patches, the language model over a
// preallocated bf16 KV cache ([layer][k|v][kv head][capacity][head_dim]) with activations in token chunks, and the
// decode step. Every pre-fill is planned before anything is allocated: the memory plan lists what it needs
// against the GPU's free memory and refuses with the numbers when it does not fit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

#include "../gpu_backend.hpp"
#include "../language.hpp"
#include "device_weights.hpp"
#include "mmi/ops/cuda/attention.hpp"
#include "mmi/ops/cuda/ops.hpp"
#include "mmi/ops/half.hpp"
#include "mmi/ops/rope.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/cuda/gemm.hpp"
#include "mmi/runtime/cuda/memory_plan.hpp"
#include "mmi/runtime/errors.hpp"
#include "sparse_gpu.hpp"
#include "vision_gpu.hpp"

namespace mmi::qwen2_5_vl {

namespace rc = runtime::cuda;
namespace oc = ops::cuda;
using runtime::Error;
using runtime::ErrorCode;

bool gpu_backend_usable(std::string* why) {
  return rc::gpu_count(why) > 0 && rc::cublaslt_available(why);
}

namespace gpu {

namespace {

constexpr std::int64_t kDecodeReserve = 1024;  // cache rows kept free after a pre-fill for the answer and follow-ups
constexpr const char* kAdvice =
    "Ask about a shorter part of the video, sample fewer frames per second or lower the frame resolution (fewer "
    "tokens), or use a GPU with more memory.";

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::uint64_t f32_bytes(std::int64_t n) { return rc::Arena::aligned(static_cast<std::size_t>(n) * 4); }
std::uint64_t b16_bytes(std::int64_t n) { return rc::Arena::aligned(static_cast<std::size_t>(n) * 2); }

std::vector<float> bf16_to_float(const std::vector<std::uint16_t>& bits) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = ops::bf16_to_f32(bits[i]);
  return out;
}

class CudaSession;

class CudaModel final : public GpuModel {
 public:
  CudaModel(const runtime::ModelFolder& folder, const Config& config, const LoadOptions& options)
      : config_(config), options_(options), gemm_(stream_.get()) {
    const VisionWeights vision = bind_vision(folder, config.vision);
    const TextWeights text = bind_text(folder, config.text);
    rc::MemoryPlan plan("loading the model's weights", 0);
    plan.add("weights (bf16)", device_weight_bytes(vision, text));
    const rc::DeviceMemoryInfo mem = rc::memory_info();
    plan.require(mem.free, mem.total, "Use a GPU with more memory, or the CPU backend.");
    weights_ = upload_weights(vision, text, stream_.get());
    vision_ = std::make_unique<GpuVision>(config_.vision, weights_);

    // M-RoPE tables: frequency j rotates with position row t, h or w by the sections (kernels/ops mrope_tables).
    const TextConfig& tc = config_.text;
    const std::vector<float> inv = ops::rope_inv_freq(tc.head_dim, tc.rope_theta);
    std::vector<std::int32_t> select(inv.size());
    for (std::int64_t j = 0, r = 0, end = tc.mrope_section[0]; j < static_cast<std::int64_t>(inv.size()); ++j) {
      while (j >= end && r < 2) end += tc.mrope_section[static_cast<std::size_t>(++r)];
      select[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(r);
    }
    rope_ = rc::DeviceMemory(f32_bytes(static_cast<std::int64_t>(inv.size())) * 2, "rotary tables");
    rope_select_ = rope_.as<std::int32_t>();
    rope_freq_ = reinterpret_cast<float*>(rope_.as<char>() + f32_bytes(static_cast<std::int64_t>(inv.size())));
    rc::copy_to_device(rope_select_, select.data(), select.size() * 4, stream_.get());
    rc::copy_to_device(rope_freq_, inv.data(), inv.size() * 4, stream_.get());
    stream_.synchronize();
    description_ = rc::device_description() + ", " + rc::cublaslt_description();
  }

  std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control,
                                  VisionTrace* trace) const override {
    std::lock_guard<std::mutex> lock(mu_);
    const VisionConfig& vc = config_.vision;
    const GridTHW& g = pixels.grid;
    const std::int64_t per_t = g.h * g.w, cells = per_t / vc.merge_unit(), P = vc.patch_dim();
    const std::int64_t t_chunk = std::min(g.t, vision_->chunk_for(g.h, g.w, options_.gpu_vision_bytes));
    rc::MemoryPlan plan("encoding a video", g.t * cells);
    plan.add("vision activations", vision_->scratch_bytes(t_chunk, g.h, g.w));
    plan.add("features", f32_bytes(t_chunk * cells * vc.out_hidden));
    const rc::DeviceMemoryInfo mem = rc::memory_info();
    plan.require(mem.free, mem.total, kAdvice);
    rc::Arena arena(plan.total(), "vision");
    cudaStream_t s = stream_.get();
    vision_->prepare(t_chunk, g.h, g.w, arena, s);
    float* out = arena.take<float>(static_cast<std::size_t>(t_chunk * cells * vc.out_hidden));
    std::vector<float> features(static_cast<std::size_t>(g.t * cells * vc.out_hidden));
    for (std::int64_t t0 = 0; t0 < g.t; t0 += t_chunk) {
      check_cancel(control);
      const std::int64_t tc = std::min(t_chunk, g.t - t0);
      rc::copy_to_device(vision_->pixels(), pixels.data.data() + t0 * per_t * P,
                         static_cast<std::size_t>(tc * per_t * P) * 4, s);
      vision_->encode(tc, out, vc.out_hidden, gemm_, s, trace, t0 * cells);
      rc::copy_to_host(features.data() + t0 * cells * vc.out_hidden, out,
                       static_cast<std::size_t>(tc * cells * vc.out_hidden) * 4, s);
      if (control.on_progress) control.on_progress(Stage::Vision, t0 + tc, g.t);
    }
    rc::sample_memory_use();
    return features;
  }

  std::unique_ptr<GpuSession> session(std::int64_t kv_capacity) const override;
  std::string description() const override { return description_; }

  const Config& config_;
  LoadOptions options_;
  rc::Stream stream_;
  mutable rc::Gemm gemm_;
  DeviceWeights weights_;
  std::unique_ptr<GpuVision> vision_;
  rc::DeviceMemory rope_;
  std::int32_t* rope_select_ = nullptr;
  float* rope_freq_ = nullptr;
  std::string description_;
  mutable std::mutex mu_;  // one forward at a time on the model's stream and GEMM handle
};

// Decode-step buffers, sized with the cache.
struct DecodeBuffers {
  rc::DeviceMemory memory;
  float* x = nullptr;
  oc::bf16* y = nullptr;
  float* qkv = nullptr;
  oc::bf16* q = nullptr;
  oc::bf16* attn = nullptr;
  oc::bf16* gu = nullptr;
  oc::bf16* act = nullptr;
  float* logits = nullptr;
  std::int64_t* pos = nullptr;
  std::int32_t* token = nullptr;
  std::int32_t* choice = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

class CudaSession final : public GpuSession {
 public:
  CudaSession(const CudaModel& model, std::int64_t capacity) : m_(model), pinned_(64) {
    if (capacity > 0) {
      std::lock_guard<std::mutex> lock(m_.mu_);
      reserve(capacity, 0);
    }
  }

  std::int64_t length() const override { return length_; }
  void rewind(std::int64_t length) override { length_ = length; }

  std::vector<float> prefill(const GpuPrefill& in, const RunControl& control, ForwardTrace* trace,
                             RunStats* stats) override;
  std::vector<float> step(std::int32_t token, std::int64_t position) override;
  std::int32_t greedy() override {
    std::lock_guard<std::mutex> lock(m_.mu_);
    std::int32_t choice = 0;
    rc::copy_to_host(&choice, decode_.choice, sizeof choice, m_.stream_.get());
    return choice;
  }

 private:
  const TextConfig& tc() const { return m_.config_.text; }
  std::uint64_t kv_bytes(std::int64_t capacity) const {
    return static_cast<std::uint64_t>(tc().layers) * 2 * tc().kv_heads * capacity * tc().head_dim * 2;
  }
  std::uint64_t decode_bytes(std::int64_t capacity) const {
    const TextConfig& c = tc();
    const std::int64_t qkv = (c.heads + 2 * c.kv_heads) * c.head_dim;
    return f32_bytes(c.hidden) + b16_bytes(c.hidden) + f32_bytes(qkv) + b16_bytes(c.heads * c.head_dim) * 2 +
           b16_bytes(2 * c.intermediate) + b16_bytes(c.intermediate) + f32_bytes(c.vocab) + rc::Arena::aligned(24) +
           2 * rc::Arena::aligned(4) + rc::Arena::aligned(oc::decode_workspace_bytes(static_cast<int>(c.heads),
                                                                                     static_cast<int>(c.head_dim), capacity));
  }
  oc::bf16* k_cache(std::int64_t layer) const {
    return kv_.as<oc::bf16>() + (layer * 2) * tc().kv_heads * capacity_ * tc().head_dim;
  }
  oc::bf16* v_cache(std::int64_t layer) const {
    return kv_.as<oc::bf16>() + (layer * 2 + 1) * tc().kv_heads * capacity_ * tc().head_dim;
  }
  // Grows the cache to `rows` (copying the cached rows) with the decode buffers that go with it.
  void reserve(std::int64_t rows, std::int64_t keep);

  const CudaModel& m_;
  rc::DeviceMemory kv_;
  std::int64_t capacity_ = 0;
  std::int64_t length_ = 0;
  DecodeBuffers decode_;
  rc::PinnedMemory pinned_;  // token and positions of a decode step
};

void CudaSession::reserve(std::int64_t rows, std::int64_t keep) {
  if (rows <= capacity_) return;
  const TextConfig& c = tc();
  cudaStream_t s = m_.stream_.get();
  rc::DeviceMemory next(kv_bytes(rows), "KV cache");
  const std::size_t row_bytes = static_cast<std::size_t>(c.head_dim) * 2;
  if (keep > 0) {
    for (std::int64_t part = 0; part < 2 * c.layers * c.kv_heads; ++part) {
      MMI_GPU_CHECK(cudaMemcpyAsync(next.as<char>() + part * rows * row_bytes, kv_.as<char>() + part * capacity_ * row_bytes,
                                    static_cast<std::size_t>(keep) * row_bytes, cudaMemcpyDeviceToDevice, s));
    }
  }
  MMI_GPU_CHECK(cudaStreamSynchronize(s));
  kv_ = std::move(next);
  capacity_ = rows;
  decode_ = DecodeBuffers{};
  DecodeBuffers d;
  const std::int64_t qkv = (c.heads + 2 * c.kv_heads) * c.head_dim;
  d.memory = rc::DeviceMemory(decode_bytes(rows), "decode buffers");
  char* base = d.memory.as<char>();
  std::size_t at = 0;
  auto take = [&](std::size_t bytes) {
    void* p = base + at;
    at += rc::Arena::aligned(bytes);
    return p;
  };
  d.x = static_cast<float*>(take(static_cast<std::size_t>(c.hidden) * 4));
  d.y = static_cast<oc::bf16*>(take(static_cast<std::size_t>(c.hidden) * 2));
  d.qkv = static_cast<float*>(take(static_cast<std::size_t>(qkv) * 4));
  d.q = static_cast<oc::bf16*>(take(static_cast<std::size_t>(c.heads * c.head_dim) * 2));
  d.attn = static_cast<oc::bf16*>(take(static_cast<std::size_t>(c.heads * c.head_dim) * 2));
  d.gu = static_cast<oc::bf16*>(take(static_cast<std::size_t>(2 * c.intermediate) * 2));
  d.act = static_cast<oc::bf16*>(take(static_cast<std::size_t>(c.intermediate) * 2));
  d.logits = static_cast<float*>(take(static_cast<std::size_t>(c.vocab) * 4));
  d.pos = static_cast<std::int64_t*>(take(24));
  d.token = static_cast<std::int32_t*>(take(4));
  d.choice = static_cast<std::int32_t*>(take(4));
  d.workspace_bytes = oc::decode_workspace_bytes(static_cast<int>(c.heads), static_cast<int>(c.head_dim), rows);
  d.workspace = take(d.workspace_bytes);
  decode_ = std::move(d);
}

std::unique_ptr<GpuSession> CudaModel::session(std::int64_t kv_capacity) const {
  return std::make_unique<CudaSession>(*this, kv_capacity);
}

std::vector<float> CudaSession::prefill(const GpuPrefill& in, const RunControl& control, ForwardTrace* trace,
                                        RunStats* stats) {
  std::lock_guard<std::mutex> lock(m_.mu_);
  const Config& cfg = m_.config_;
  const TextConfig& c = cfg.text;
  const VisionConfig& vc = cfg.vision;
  cudaStream_t s = m_.stream_.get();
  rc::Gemm& gemm = m_.gemm_;
  const auto n = static_cast<std::int64_t>(in.ids.size());
  const std::int64_t start = length_;
  const std::int64_t D = c.hidden, hd = c.head_dim, H = c.heads, KV = c.kv_heads, I = c.intermediate;
  const std::int64_t q_dim = H * hd, qkv_dim = (H + 2 * KV) * hd;
  const std::int64_t C = std::max<std::int64_t>(1, std::min(std::max(m_.options_.token_chunk, m_.options_.gpu_token_chunk), n));
  const std::int64_t rows_out = trace ? n : 1;
  const bool fresh = start == 0 && core_kernels_take(hd);
  if (in.patterns && !core_kernels_take(hd)) {
    throw Error(ErrorCode::InvalidInput, "", "patterns",
                "sparse patterns on the GPU need head dim 64, 80 or 128; this model has " + std::to_string(hd));
  }
  std::unique_ptr<SparseAttention> sparse;
  if (in.patterns && fresh) sparse = std::make_unique<SparseAttention>(c, *in.patterns, n, *in.layout);
  // Heatmaps of a fresh pre-fill (a continuation's queries are not the prompt's rows).
  std::unique_ptr<HeatmapCapture> heatmaps;
  if (in.heatmaps && fresh && !in.heatmaps->heads.empty()) {
    heatmaps = std::make_unique<HeatmapCapture>(c, *in.heatmaps, n, *in.layout);
  }

  // Video segments among the new tokens, in order.
  std::vector<Segment> videos;
  for (const Segment& seg : *in.layout) {
    if (seg.kind == Segment::Kind::Video && seg.begin >= start) videos.push_back(seg);
  }
  std::int64_t t_chunk_max = 0, vision_scratch = 0, pinned_floats = 0;
  for (const PixelSource& src : in.video_sources) {
    const std::int64_t tch = std::min(src.grid.t, m_.vision_->chunk_for(src.grid.h, src.grid.w, m_.options_.gpu_vision_bytes));
    t_chunk_max = std::max(t_chunk_max, tch);
    vision_scratch = std::max<std::int64_t>(vision_scratch, m_.vision_->scratch_bytes(tch, src.grid.h, src.grid.w));
    pinned_floats = std::max(pinned_floats, tch * src.grid.h * src.grid.w * vc.patch_dim());
  }

  // The plan: everything this pre-fill allocates, checked before any of it is.
  rc::MemoryPlan plan("a pre-fill", start + n);
  const std::int64_t need = start + n + kDecodeReserve;
  const std::uint64_t kv_per_token = static_cast<std::uint64_t>(c.layers) * 2 * KV * hd * 2;
  if (need > capacity_) {
    plan.add("KV cache (bf16, " + std::to_string(need) + " tokens)", kv_bytes(need), kv_per_token);
    // The decode scratch holds one partial softmax state per head for every 256 keys.
    plan.add("decode buffers", decode_bytes(need), static_cast<std::uint64_t>(H) * 4 * (hd + 2) / 256);
  }
  plan.add("hidden state (fp32)", f32_bytes(n * D), static_cast<std::uint64_t>(D) * 4);
  plan.add("queries and attention output", 2 * b16_bytes(n * q_dim), static_cast<std::uint64_t>(q_dim) * 4);
  plan.add("ids and positions", rc::Arena::aligned(static_cast<std::size_t>(n) * 4) + rc::Arena::aligned(static_cast<std::size_t>(3 * n) * 8), 28);
  plan.add("token-chunk activations (" + std::to_string(C) + " rows)",
           b16_bytes(C * D) + f32_bytes(C * qkv_dim) + b16_bytes(C * q_dim) + b16_bytes(C * 2 * I) + b16_bytes(C * I));
  plan.add("logits", f32_bytes(rows_out * c.vocab) + b16_bytes(rows_out * D));
  if (!in.video_features.empty()) plan.add("video feature staging", f32_bytes(C * D) + rc::Arena::aligned(static_cast<std::size_t>(C) * 8));
  if (vision_scratch > 0) plan.add("vision tower chunk", static_cast<std::uint64_t>(vision_scratch));
  if (sparse) plan.add("sparse estimation and indices (bound)", sparse->index_bytes(), static_cast<std::uint64_t>(H) * 16);
  const rc::DeviceMemoryInfo mem = rc::memory_info();
  plan.require(mem.free, mem.total, kAdvice);

  if (need > capacity_) reserve(need, start);
  std::uint64_t arena_bytes = 0;
  for (const auto& item : plan.items()) {
    if (item.name.rfind("KV cache", 0) != 0 && item.name != "decode buffers" && item.name.rfind("sparse", 0) != 0) {
      arena_bytes += item.bytes;
    }
  }
  rc::Arena arena(arena_bytes + 16 * rc::Arena::kAlign, "pre-fill activations");
  float* x = arena.take<float>(static_cast<std::size_t>(n * D));
  oc::bf16* q = arena.take<oc::bf16>(static_cast<std::size_t>(n * q_dim));
  oc::bf16* o = arena.take<oc::bf16>(static_cast<std::size_t>(n * q_dim));
  auto* ids = arena.take<std::int32_t>(static_cast<std::size_t>(n));
  auto* pos = arena.take<std::int64_t>(static_cast<std::size_t>(3 * n));
  oc::bf16* y = arena.take<oc::bf16>(static_cast<std::size_t>(C * D));
  float* qkv = arena.take<float>(static_cast<std::size_t>(C * qkv_dim));
  oc::bf16* attn_rows = arena.take<oc::bf16>(static_cast<std::size_t>(C * q_dim));
  oc::bf16* gu = arena.take<oc::bf16>(static_cast<std::size_t>(C * 2 * I));
  oc::bf16* act = arena.take<oc::bf16>(static_cast<std::size_t>(C * I));
  float* logits = arena.take<float>(static_cast<std::size_t>(rows_out * c.vocab));
  oc::bf16* normed = arena.take<oc::bf16>(static_cast<std::size_t>(rows_out * D));
  if (sparse) sparse->prepare(s);

  rc::copy_to_device(ids, in.ids.data(), static_cast<std::size_t>(n) * 4, s);
  rc::copy_to_device(pos, in.positions.data(), static_cast<std::size_t>(3 * n) * 8, s);
  oc::embedding(m_.weights_.embed, ids, n, D, x, D, s);

  // Video rows: host features in chunks, or sources through the vision tower straight into their rows.
  if (!in.video_features.empty()) {
    float* staging = arena.take<float>(static_cast<std::size_t>(C * D));
    auto* rows = arena.take<std::int64_t>(static_cast<std::size_t>(C));
    std::vector<std::int64_t> video_rows;
    for (std::int64_t i = 0; i < n; ++i) {
      if (in.ids[static_cast<std::size_t>(i)] == cfg.video_token_id) video_rows.push_back(i);
    }
    for (std::size_t v0 = 0; v0 < video_rows.size(); v0 += static_cast<std::size_t>(C)) {
      const std::size_t m = std::min(video_rows.size() - v0, static_cast<std::size_t>(C));
      rc::copy_to_device(staging, in.video_features.data() + v0 * static_cast<std::size_t>(D), m * D * 4, s);
      rc::copy_to_device(rows, video_rows.data() + v0, m * 8, s);
      oc::copy_rows(staging, D, nullptr, x, D, rows, static_cast<std::int64_t>(m), D, nullptr, s);
      MMI_GPU_CHECK(cudaStreamSynchronize(s));  // the staging buffers are reused
    }
  }
  if (!in.video_sources.empty()) {
    const auto t_vision = std::chrono::steady_clock::now();
    double fill_ms = 0.0;
    rc::PinnedMemory staging[2] = {rc::PinnedMemory(static_cast<std::size_t>(pinned_floats) * 4),
                                   rc::PinnedMemory(static_cast<std::size_t>(pinned_floats) * 4)};
    rc::Event copied[2];
    bool pending[2] = {false, false};
    int buffer = 0;
    const std::size_t mark = arena.used();
    for (std::size_t v = 0; v < in.video_sources.size(); ++v) {
      const PixelSource& src = in.video_sources[v];
      const Segment& seg = videos[v];
      const std::int64_t per_t = src.grid.h * src.grid.w, cells = per_t / vc.merge_unit();
      const std::int64_t tch = std::min(src.grid.t, m_.vision_->chunk_for(src.grid.h, src.grid.w, m_.options_.gpu_vision_bytes));
      arena.release_to(mark);
      m_.vision_->prepare(tch, src.grid.h, src.grid.w, arena, s);
      for (std::int64_t t0 = 0; t0 < src.grid.t; t0 += tch) {
        check_cancel(control);
        const std::int64_t tcount = std::min(tch, src.grid.t - t0);
        if (pending[buffer]) copied[buffer].synchronize();  // the last copy from this buffer is done
        const auto t_fill = std::chrono::steady_clock::now();
        src.fill(t0, tcount, staging[buffer].as<float>());
        fill_ms += ms_since(t_fill);
        rc::copy_to_device(m_.vision_->pixels(), staging[buffer].as<float>(),
                           static_cast<std::size_t>(tcount * per_t * vc.patch_dim()) * 4, s);
        copied[buffer].record(s);
        pending[buffer] = true;
        buffer ^= 1;
        m_.vision_->encode(tcount, x + (seg.begin - start + t0 * cells) * D, D, gemm, s, nullptr, 0);
        if (control.on_progress) control.on_progress(Stage::Vision, t0 + tcount, src.grid.t);
      }
    }
    MMI_GPU_CHECK(cudaStreamSynchronize(s));
    rc::sample_memory_use();
    if (stats) {
      stats->pixel_fill_ms = fill_ms;
      stats->vision_ms = ms_since(t_vision);
    }
  }
  const auto t_layers = std::chrono::steady_clock::now();
  if (trace) {
    trace->inputs_embeds.resize(static_cast<std::size_t>(n * D));
    rc::copy_to_host(trace->inputs_embeds.data(), x, static_cast<std::size_t>(n * D) * 4, s);
    trace->layer_out.clear();
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // An observer's copy of each layer's q and k (bf16, as computed) in pinned host memory: q [H][n][hd], k
  // [KV][start + n][hd].
  const std::int64_t keys = start + n;
  rc::PinnedMemory observed;
  rc::Event observed_copied;
  if (in.observer) observed = rc::PinnedMemory(static_cast<std::size_t>(n * q_dim + KV * keys * hd) * 2);
  RunStats layer_stats;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    check_cancel(control);
    const DTextLayer& lw = m_.weights_.text[static_cast<std::size_t>(l)];
    oc::bf16* kc = k_cache(l);
    oc::bf16* vcache = v_cache(l);
    for (std::int64_t r0 = 0; r0 < n; r0 += C) {
      const std::int64_t m = std::min(C, n - r0);
      oc::rms_norm(x + r0 * D, D, m, D, lw.input_norm, c.rms_eps, y, D, s);
      gemm.linear(y, D, m, lw.qkv.w, qkv_dim, D, qkv, rc::OutType::F32, qkv_dim, false);
      oc::QkvSplit split;
      split.qkv = qkv;
      split.ld = qkv_dim;
      split.bias = lw.qkv.b;
      split.rows = m;
      split.hq = static_cast<int>(H);
      split.hkv = static_cast<int>(KV);
      split.head_dim = static_cast<int>(hd);
      split.pos = pos + r0;
      split.pos_stride = n;
      split.select = m_.rope_select_;
      split.freq = m_.rope_freq_;
      split.q = q + r0 * hd;
      split.q_row = hd;
      split.q_head = n * hd;
      split.k = kc + (start + r0) * hd;
      split.v = vcache + (start + r0) * hd;
      split.k_row = split.v_row = hd;
      split.k_head = split.v_head = capacity_ * hd;
      oc::rope_split_qkv(split, s);
    }
    if (in.observer) {
      auto* host_q = observed.as<std::uint16_t>();
      MMI_GPU_CHECK(cudaMemcpyAsync(host_q, q, static_cast<std::size_t>(n * q_dim) * 2, cudaMemcpyDeviceToHost, s));
      MMI_GPU_CHECK(cudaMemcpy2DAsync(host_q + n * q_dim, static_cast<std::size_t>(keys * hd) * 2, kc,
                                      static_cast<std::size_t>(capacity_ * hd) * 2, static_cast<std::size_t>(keys * hd) * 2,
                                      static_cast<std::size_t>(KV), cudaMemcpyDeviceToHost, s));
      observed_copied.record(s);
    }

    const LayerTensors lt{q, kc, vcache, o, capacity_};
    if (sparse) {
      sparse->run(l, lt, s, layer_stats, heatmaps.get());
    } else if (fresh) {
      dense_attention(c, n, lt, s);
      if (heatmaps) heatmaps->capture_dense(l, lt, s);
    } else {
      oc::FlashParams fa;
      fa.q = q;
      fa.q_row = hd;
      fa.q_head = n * hd;
      fa.k = kc;
      fa.v = vcache;
      fa.k_row = fa.v_row = hd;
      fa.k_head = fa.v_head = capacity_ * hd;
      fa.o = o;
      fa.o_row = hd;
      fa.o_head = n * hd;
      fa.n_q = n;
      fa.heads = static_cast<int>(H);
      fa.group = static_cast<int>(H / KV);
      fa.head_dim = static_cast<int>(hd);
      fa.scale = scale;
      fa.q0 = start;
      oc::flash_attention(fa, s);
    }

    for (std::int64_t r0 = 0; r0 < n; r0 += C) {
      const std::int64_t m = std::min(C, n - r0);
      float* xr = x + r0 * D;
      oc::heads_to_rows(o, n * hd, static_cast<int>(H), static_cast<int>(hd), r0, m, attn_rows, q_dim, s);
      gemm.linear(attn_rows, q_dim, m, lw.o.w, D, q_dim, xr, rc::OutType::F32, D, true);
      oc::rms_norm(xr, D, m, D, lw.post_norm, c.rms_eps, y, D, s);
      gemm.linear(y, D, m, lw.gate_up.w, 2 * I, D, gu, rc::OutType::BF16, 2 * I, false);
      oc::silu_mul(gu, false, 2 * I, m, I, nullptr, act, I, s);
      gemm.linear(act, I, m, lw.down.w, D, I, xr, rc::OutType::F32, D, true);
    }
    if (in.observer) {
      // The layer's attention and MLP are queued: the GPU computes them while the observer works.
      observed_copied.synchronize();
      const auto* host_q = observed.as<const std::uint16_t>();
      LayerQk seen;
      seen.layer = l;
      seen.q_begin = start;
      seen.q = attention::HeadsView{host_q, attention::DType::bf16, H, n, hd, n * hd, hd};
      seen.k = attention::HeadsView{host_q + n * q_dim, attention::DType::bf16, KV, keys, hd, keys * hd, hd};
      seen.scale = scale;
      seen.layout = in.layout;
      in.observer->observe(seen);
    }
    if (trace) {
      std::vector<float> out(static_cast<std::size_t>(n * D));
      rc::copy_to_host(out.data(), x, out.size() * 4, s);
      trace->layer_out.push_back(std::move(out));
    }
    if (control.on_progress) {
      MMI_GPU_CHECK(cudaStreamSynchronize(s));
      control.on_progress(Stage::Prefill, l + 1, c.layers);
    }
    if (l == 0) rc::sample_memory_use();
  }

  // Final norm and lm_head: every row when tracing, else the last one; the greedy choice made on the GPU.
  const std::int64_t first = n - rows_out;
  oc::rms_norm(x + first * D, D, rows_out, D, m_.weights_.norm, c.rms_eps, normed, D, s);
  gemm.linear(normed, D, rows_out, m_.weights_.lm_head.w, c.vocab, D, logits, rc::OutType::F32, c.vocab, false);
  oc::argmax(logits + (rows_out - 1) * c.vocab, c.vocab, decode_.choice, s);
  std::vector<float> all(static_cast<std::size_t>(rows_out * c.vocab));
  rc::copy_to_host(all.data(), logits, all.size() * 4, s);
  rc::sample_memory_use();
  if (trace) {
    std::vector<std::uint16_t> bits(static_cast<std::size_t>(rows_out * D));
    rc::copy_to_host(bits.data(), normed, bits.size() * 2, s);
    trace->final_norm = bf16_to_float(bits);
    trace->logits = all;
  }
  length_ = start + n;
  if (stats) {
    stats->prefill_ms = ms_since(t_layers);
    stats->index_ms = layer_stats.index_ms;
    stats->index_estimate_ms = layer_stats.index_estimate_ms;
    stats->index_build_ms = layer_stats.index_build_ms;
    if (sparse) stats->pattern_density = sparse->density();
    stats->peak_device_bytes = rc::peak_memory_use();
  }
  return std::vector<float>(all.end() - c.vocab, all.end());
}

std::vector<float> CudaSession::step(std::int32_t token, std::int64_t position) {
  std::lock_guard<std::mutex> lock(m_.mu_);
  const TextConfig& c = tc();
  if (length_ + 1 > capacity_) {
    rc::MemoryPlan plan("a decode step", length_ + 1);
    const std::int64_t need = length_ + 1 + kDecodeReserve;
    plan.add("KV cache (bf16, " + std::to_string(need) + " tokens)", kv_bytes(need));
    plan.add("decode buffers", decode_bytes(need));
    const rc::DeviceMemoryInfo mem = rc::memory_info();
    plan.require(mem.free, mem.total, kAdvice);
    reserve(need, length_);
  }
  cudaStream_t s = m_.stream_.get();
  rc::Gemm& gemm = m_.gemm_;
  const DecodeBuffers& d = decode_;
  const std::int64_t D = c.hidden, hd = c.head_dim, H = c.heads, KV = c.kv_heads, I = c.intermediate;
  const std::int64_t q_dim = H * hd, qkv_dim = (H + 2 * KV) * hd;
  // The pinned slots are reused each step: the previous step ended with a synchronising copy.
  auto* host_pos = pinned_.as<std::int64_t>();
  host_pos[0] = host_pos[1] = host_pos[2] = position;
  auto* host_token = reinterpret_cast<std::int32_t*>(host_pos + 3);
  *host_token = token;
  rc::copy_to_device(d.pos, host_pos, 24, s);
  rc::copy_to_device(d.token, host_token, 4, s);
  oc::embedding(m_.weights_.embed, d.token, 1, D, d.x, D, s);
  for (std::int64_t l = 0; l < c.layers; ++l) {
    const DTextLayer& lw = m_.weights_.text[static_cast<std::size_t>(l)];
    oc::rms_norm(d.x, D, 1, D, lw.input_norm, c.rms_eps, d.y, D, s);
    gemm.linear(d.y, D, 1, lw.qkv.w, qkv_dim, D, d.qkv, rc::OutType::F32, qkv_dim, false);
    oc::QkvSplit split;
    split.qkv = d.qkv;
    split.ld = qkv_dim;
    split.bias = lw.qkv.b;
    split.rows = 1;
    split.hq = static_cast<int>(H);
    split.hkv = static_cast<int>(KV);
    split.head_dim = static_cast<int>(hd);
    split.pos = d.pos;
    split.pos_stride = 1;
    split.select = m_.rope_select_;
    split.freq = m_.rope_freq_;
    split.q = d.q;
    split.q_row = q_dim;
    split.q_head = hd;
    split.k = k_cache(l) + length_ * hd;
    split.v = v_cache(l) + length_ * hd;
    split.k_row = split.v_row = hd;
    split.k_head = split.v_head = capacity_ * hd;
    oc::rope_split_qkv(split, s);
    oc::DecodeParams dp;
    dp.q = d.q;
    dp.k = k_cache(l);
    dp.v = v_cache(l);
    dp.kv_head = capacity_ * hd;
    dp.length = length_ + 1;
    dp.heads = static_cast<int>(H);
    dp.group = static_cast<int>(H / KV);
    dp.head_dim = static_cast<int>(hd);
    dp.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    dp.o = d.attn;
    oc::decode_attention(dp, d.workspace, d.workspace_bytes, s);
    gemm.linear(d.attn, q_dim, 1, lw.o.w, D, q_dim, d.x, rc::OutType::F32, D, true);
    oc::rms_norm(d.x, D, 1, D, lw.post_norm, c.rms_eps, d.y, D, s);
    gemm.linear(d.y, D, 1, lw.gate_up.w, 2 * I, D, d.gu, rc::OutType::BF16, 2 * I, false);
    oc::silu_mul(d.gu, false, 2 * I, 1, I, nullptr, d.act, I, s);
    gemm.linear(d.act, I, 1, lw.down.w, D, I, d.x, rc::OutType::F32, D, true);
  }
  oc::rms_norm(d.x, D, 1, D, m_.weights_.norm, c.rms_eps, d.y, D, s);
  gemm.linear(d.y, D, 1, m_.weights_.lm_head.w, c.vocab, D, d.logits, rc::OutType::F32, c.vocab, false);
  oc::argmax(d.logits, c.vocab, d.choice, s);
  std::vector<float> logits(static_cast<std::size_t>(c.vocab));
  rc::copy_to_host(logits.data(), d.logits, logits.size() * 4, s);
  ++length_;
  return logits;
}

}  // namespace

}  // namespace gpu

std::unique_ptr<GpuModel> load_gpu_model(const runtime::ModelFolder& folder, const Config& config,
                                         const LoadOptions& options) {
  std::string why;
  if (!gpu_backend_usable(&why)) throw Error(ErrorCode::DeviceUnavailable, "", "gpu", why);
  return std::make_unique<gpu::CudaModel>(folder, config, options);
}

}  // namespace mmi::qwen2_5_vl
