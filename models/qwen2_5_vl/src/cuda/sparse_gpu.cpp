#include "sparse_gpu.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/cuda/estimate.hpp"
#include "mmi/cuda/heatmap.hpp"
#include "mmi/cuda/index_build.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl::gpu {

namespace att = mmi::attention;
namespace kc = mmi::cuda;
namespace rc = mmi::runtime::cuda;
using runtime::Error;
using runtime::ErrorCode;

namespace {

enum class Kind { Dense, AShape, VerticalSlash, Grid, BlockSparse, QBoundary, TwoDBoundary };

constexpr std::int64_t kMaxGridLines = 16;
constexpr std::size_t kMaxGridRuns = 8;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::AShape: return "a_shape";
    case Kind::VerticalSlash: return "vertical_slash";
    case Kind::Grid: return "grid";
    case Kind::BlockSparse: return "block_sparse";
    case Kind::QBoundary: return "q_boundary";
    case Kind::TwoDBoundary: return "two_d_boundary";
    case Kind::Dense: break;
  }
  return "dense";
}

bool same_budget(const att::VerticalSlashBudget& a, const att::VerticalSlashBudget& b) {
  return a.vertical == b.vertical && a.slash == b.slash;
}

kc::VerticalSlashBudget budget_of(const att::VerticalSlashBudget& b) { return {b.vertical, b.slash}; }

// Calls into the attention core's CUDA code, with its errors turned into the runtime's.
template <typename F>
void core_call(const char* what, F&& f) {
  try {
    f();
  } catch (const kc::Error& e) {
    throw Error(ErrorCode::DeviceError, "", what, e.what());
  }
}

kc::AttentionShape shape_of(std::int64_t n, int heads, std::int64_t head_dim) {
  kc::AttentionShape s;
  s.n = n;
  s.heads_q = heads;
  s.heads_kv = 1;
  s.head_dim = static_cast<int>(head_dim);
  s.dtype = kc::DType::bf16;
  return s;
}

// Query heads [first, first + count) of one kv head: q/o slices of the head-major buffers, the kv head's cache rows.
kc::AttentionTensors tensors_of(const LayerTensors& t, std::int64_t n, std::int64_t head_dim, int first, int kv_head) {
  kc::AttentionTensors x;
  x.q = t.q + static_cast<std::int64_t>(first) * n * head_dim;
  x.o = t.o + static_cast<std::int64_t>(first) * n * head_dim;
  x.k = t.k + static_cast<std::int64_t>(kv_head) * t.capacity * head_dim;
  x.v = t.v + static_cast<std::int64_t>(kv_head) * t.capacity * head_dim;
  return x;
}

kc::DeviceIndexView heads_of(kc::DeviceIndexView v, int first, int count) {
  const std::int64_t nb = num_blocks(v.n);
  v.heads = count;
  v.block_offsets += first * nb;
  v.column_offsets += first * nb;
  if (v.row_perm) v.row_perm += static_cast<std::int64_t>(first) * v.n;
  if (v.col_perm) v.col_perm += static_cast<std::int64_t>(first) * v.n;
  return v;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Heads that run as one call: consecutive heads of one kv head with one kind and the same budgets.
bool same_call(const att::PatternConfig& a, const att::PatternConfig& b) {
  return a.pattern == b.pattern && a.sink_tokens == b.sink_tokens && a.local_tokens == b.local_tokens &&
         a.grid_lines == b.grid_lines && same_budget(a.vertical_slash, b.vertical_slash) &&
         a.top_k_blocks == b.top_k_blocks && same_budget(a.text_rows, b.text_rows) &&
         same_budget(a.video_rows, b.video_rows) && same_budget(a.text_to_text, b.text_to_text) &&
         same_budget(a.text_to_video, b.text_to_video) && same_budget(a.video_to_text, b.video_to_text) &&
         same_budget(a.video_to_video, b.video_to_video);
}

}  // namespace

bool core_kernels_take(std::int64_t head_dim) { return head_dim == 64 || head_dim == 80 || head_dim == 128; }

void dense_attention(const TextConfig& c, std::int64_t n, const LayerTensors& t, cudaStream_t stream) {
  const int group = static_cast<int>(c.heads / c.kv_heads);
  for (int g = 0; g < c.kv_heads; ++g) {
    core_call("dense attention", [&] {
      kc::attention_dense_causal(shape_of(n, group, c.head_dim), tensors_of(t, n, c.head_dim, g * group, g), stream);
    });
  }
}

struct SparseAttention::Impl {
  Impl(const TextConfig& config, const HeadPatterns& p, std::int64_t tokens)
      : c(config), patterns(p), n(tokens) {}

  const TextConfig& c;
  HeadPatterns patterns;
  std::int64_t n;
  std::vector<Kind> kind;  // [layer · heads + head]
  std::vector<kc::VideoRunSpec> runs;
  std::vector<kc::ModalitySpan> spans;  // the layout, for the boundary patterns' modality order
  kc::ModalityOrder order;              // on the device once per prompt, when a boundary head runs
  bool boundary = false;
  std::int64_t max_run = 0;
  std::map<std::pair<std::int64_t, std::int64_t>, kc::DeviceIndex> a_shape;  // by (sink, local), a copy per head
  std::map<std::pair<std::int64_t, std::int64_t>, double> a_shape_tiles;     // per head
  std::map<Kind, std::pair<double, double>> tiles;  // computed key tiles, dense causal tiles

  const att::PatternConfig& config(std::int64_t l, std::int64_t h) const { return patterns.at(l, h); }

  void count(Kind k, double blocks, double columns, int heads) {
    const double nb = static_cast<double>(num_blocks(n));
    auto& t = tiles[k];
    t.first += blocks + std::ceil(columns / kBlock);
    t.second += heads * nb * (nb + 1) / 2;
  }
};

SparseAttention::SparseAttention(const TextConfig& config, const HeadPatterns& patterns, std::int64_t n,
                                 const std::vector<Segment>& layout)
    : impl_(std::make_unique<Impl>(config, patterns, n)) {
  Impl& m = *impl_;
  if (patterns.layers != config.layers || patterns.heads != config.heads ||
      static_cast<std::int64_t>(patterns.configs.size()) != config.layers * config.heads) {
    throw Error(ErrorCode::InvalidInput, "", "patterns",
                "expected " + std::to_string(config.layers) + " layers × " + std::to_string(config.heads) +
                    " heads of patterns");
  }
  for (const Segment& s : layout) {
    if (s.length > 0) m.spans.push_back({s.begin, s.length, s.kind == Segment::Kind::Video});
    if (s.kind != Segment::Kind::Video) continue;
    m.runs.push_back({s.begin, s.length, s.h * s.w});
    m.max_run = std::max(m.max_run, s.length);
  }
  m.kind.resize(patterns.configs.size());
  for (std::int64_t l = 0; l < config.layers; ++l) {
    for (std::int64_t h = 0; h < config.heads; ++h) {
      const att::PatternConfig& cfg = m.config(l, h);
      try {
        att::validate_pattern(cfg);
      } catch (const att::Error& e) {
        throw Error(ErrorCode::InvalidInput, "", "patterns", e.what());
      }
      Kind k = Kind::Dense;
      switch (cfg.pattern) {
        case att::Pattern::dense: break;
        case att::Pattern::a_shape: k = Kind::AShape; break;
        case att::Pattern::vertical_slash: k = Kind::VerticalSlash; break;
        case att::Pattern::grid:
          // The core's GPU grid index keeps at most 16 phase lines per run and 8 video runs (kernels/cuda).
          if (cfg.grid_lines > kMaxGridLines || m.runs.size() > kMaxGridRuns) {
            throw Error(ErrorCode::InvalidInput, "", "patterns",
                        "layer " + std::to_string(l) + " head " + std::to_string(h) +
                            ": the GPU grid pattern takes at most " + std::to_string(kMaxGridLines) +
                            " phase lines and " + std::to_string(kMaxGridRuns) + " videos, got " +
                            std::to_string(cfg.grid_lines) + " lines and " + std::to_string(m.runs.size()) +
                            " videos");
          }
          k = Kind::Grid;
          break;
        case att::Pattern::block_sparse: k = Kind::BlockSparse; break;
        case att::Pattern::q_boundary: k = Kind::QBoundary; break;
        case att::Pattern::two_d_boundary: k = Kind::TwoDBoundary; break;
      }
      m.boundary = m.boundary || k == Kind::QBoundary || k == Kind::TwoDBoundary;
      m.kind[static_cast<std::size_t>(l * config.heads + h)] = k;
    }
  }
}

SparseAttention::~SparseAttention() = default;

std::uint64_t SparseAttention::index_bytes() const {
  const Impl& m = *impl_;
  const std::uint64_t nb = static_cast<std::uint64_t>(num_blocks(m.n)), heads = static_cast<std::uint64_t>(m.c.heads);
  // Per head, upper bounds: the estimation's mass (columns and diagonals), the lists, the offsets and the ids the
  // budgets allow, the grid permutations.
  std::uint64_t per_head = 8 * static_cast<std::uint64_t>(m.n) + nb * 16;
  std::uint64_t ids = 0;
  for (const auto& cfg : m.patterns.configs) {
    std::uint64_t x = 0;
    if (cfg.pattern == att::Pattern::vertical_slash) {
      x = static_cast<std::uint64_t>(cfg.vertical_slash.slash / kBlock + 3 + cfg.vertical_slash.vertical);
    } else if (cfg.pattern == att::Pattern::grid) {
      std::uint64_t lines = 0;
      for (const auto& run : m.runs) {
        lines += static_cast<std::uint64_t>(cfg.grid_lines) * (run.length / std::max<std::int64_t>(1, run.period / 4) / kBlock + 2);
      }
      x = static_cast<std::uint64_t>(cfg.sink_tokens + cfg.local_tokens / kBlock + 3) + lines + 16;
    } else if (cfg.pattern == att::Pattern::a_shape) {
      x = static_cast<std::uint64_t>((cfg.sink_tokens + cfg.local_tokens) / kBlock + 3);
    } else if (cfg.pattern == att::Pattern::block_sparse) {
      x = static_cast<std::uint64_t>(std::max<std::int64_t>(cfg.top_k_blocks, 2));
    } else if (cfg.pattern == att::Pattern::q_boundary || cfg.pattern == att::Pattern::two_d_boundary) {
      // Each region's slash bands cover at most (slash budget + the rows' runs) key blocks beside its columns.
      std::uint64_t sum = 0;
      for (const auto* b : {&cfg.text_rows, &cfg.video_rows, &cfg.text_to_text, &cfg.text_to_video,
                            &cfg.video_to_text, &cfg.video_to_video}) {
        sum += static_cast<std::uint64_t>(b->slash / kBlock + 3 + b->vertical);
      }
      x = sum;
      // The estimation's probabilities (at most 512 MiB a call), masses, ranked diagonals and lists.
      per_head += 28 * static_cast<std::uint64_t>(m.n);
    }
    ids = std::max(ids, x);
  }
  per_head += nb * 4 * std::min<std::uint64_t>(ids, nb + static_cast<std::uint64_t>(m.n));
  return heads * per_head * 2;  // the A-shape copies live beside one layer's estimated indices
}

void SparseAttention::prepare(cudaStream_t stream) {
  Impl& m = *impl_;
  if (m.boundary) {
    core_call("modality order", [&] { m.order = kc::ModalityOrder(m.n, m.spans, stream); });
  }
  // A-shape indices depend on N alone: one upload per configuration, every head a copy so any run of heads can
  // take a slice.
  for (const auto& cfg : m.patterns.configs) {
    if (cfg.pattern != att::Pattern::a_shape) continue;
    const auto key = std::make_pair(cfg.sink_tokens, cfg.local_tokens);
    if (m.a_shape.count(key)) continue;
    const SparseIndex one = att::a_shape_index(m.n, cfg.sink_tokens, cfg.local_tokens);
    m.a_shape_tiles[key] = static_cast<double>(one.block_ids.size()) +
                           std::ceil(static_cast<double>(one.column_ids.size()) / kBlock);
    core_call("A-shape index", [&] {
      m.a_shape.emplace(key, kc::DeviceIndex::upload(std::vector<SparseIndex>(static_cast<std::size_t>(m.c.heads), one)));
    });
  }
}

std::vector<std::pair<std::string, double>> SparseAttention::density() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [kind, t] : impl_->tiles) out.emplace_back(kind_name(kind), t.second > 0 ? t.first / t.second : 0.0);
  return out;
}

void SparseAttention::run(std::int64_t l, const LayerTensors& t, cudaStream_t stream, RunStats& stats,
                          HeatmapCapture* heatmaps) {
  Impl& m = *impl_;
  const TextConfig& c = m.c;
  const std::int64_t n = m.n;
  const int group = static_cast<int>(c.heads / c.kv_heads);
  // The layer's projections first, so the times below are the indices' own.
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));

  struct Call {
    Kind kind;
    att::Pattern pattern;
    int first, count, kv_head;
    kc::DeviceIndexView view;
    std::vector<std::vector<kc::GridRunChoice>> grid;  // grid heads: the estimator's choices, kept for heatmaps
  };
  std::vector<Call> calls;
  std::vector<kc::DeviceIndex> owned;  // this layer's estimated indices; freed after its kernels ran
  owned.reserve(static_cast<std::size_t>(c.heads));
  double estimate_ms = 0.0, build_ms = 0.0;
  for (int g = 0; g < c.kv_heads; ++g) {
    for (int h0 = g * group; h0 < (g + 1) * group;) {
      const Kind k = m.kind[static_cast<std::size_t>(l * c.heads + h0)];
      const att::PatternConfig& cfg = m.config(l, h0);
      int h1 = h0 + 1;
      while (h1 < (g + 1) * group && m.kind[static_cast<std::size_t>(l * c.heads + h1)] == k &&
             same_call(m.config(l, h1), cfg)) {
        ++h1;
      }
      const int count = h1 - h0;
      Call call{k, cfg.pattern, h0, count, g, {}, {}};
      const kc::AttentionShape shape = shape_of(n, count, c.head_dim);
      const kc::AttentionTensors x = tensors_of(t, n, c.head_dim, h0, g);
      if (k == Kind::AShape) {
        call.view = heads_of(m.a_shape.at({cfg.sink_tokens, cfg.local_tokens}).view(), h0, count);
        m.count(Kind::AShape, count * m.a_shape_tiles.at({cfg.sink_tokens, cfg.local_tokens}), 0, count);
      } else if (k == Kind::BlockSparse || k == Kind::QBoundary || k == Kind::TwoDBoundary) {
        // Estimation and index in one call of the core (pooled scores or region masses, then the index).
        auto t_est = std::chrono::steady_clock::now();
        core_call("pattern estimation", [&] {
          if (k == Kind::BlockSparse) {
            owned.push_back(kc::estimate_block_sparse(shape, x.q, x.k, cfg.top_k_blocks, stream));
          } else if (k == Kind::QBoundary) {
            owned.push_back(kc::estimate_q_boundary(shape, x.q, x.k, m.order, budget_of(cfg.text_rows),
                                                    budget_of(cfg.video_rows), stream));
          } else {
            owned.push_back(kc::estimate_2d_boundary(
                shape, x.q, x.k, m.order,
                {budget_of(cfg.text_to_text), budget_of(cfg.text_to_video), budget_of(cfg.video_to_text),
                 budget_of(cfg.video_to_video)},
                stream));
          }
        });
        estimate_ms += ms_since(t_est);
        call.view = owned.back().view();
        m.count(k, static_cast<double>(owned.back().total_blocks()), static_cast<double>(owned.back().total_columns()),
                count);
      } else if (k == Kind::VerticalSlash || k == Kind::Grid) {
        auto t_est = std::chrono::steady_clock::now();
        kc::VerticalSlashLists lists;
        std::vector<std::vector<kc::GridRunChoice>> choices;
        core_call("pattern estimation", [&] {
          if (k == Kind::VerticalSlash) {
            const kc::RowsMass mass = kc::last_rows_mass(shape, x.q, x.k, 0, n, stream);
            lists = kc::select_vertical_slash(mass, cfg.vertical_slash.vertical, cfg.vertical_slash.slash, stream);
          } else {
            choices = kc::estimate_grid(shape, x.q, x.k, m.runs, cfg.grid_lines, stream);
          }
        });
        MMI_GPU_CHECK(cudaStreamSynchronize(stream));
        estimate_ms += ms_since(t_est);
        const auto t_build = std::chrono::steady_clock::now();
        core_call("index building", [&] {
          if (k == Kind::VerticalSlash) {
            owned.push_back(kc::vertical_slash_index(n, count, lists.verticals.get(), lists.vertical_width,
                                                     lists.slashes.get(), lists.slash_width, stream));
          } else {
            owned.push_back(kc::grid_index(n, choices, std::min(cfg.sink_tokens, n),
                                           std::max<std::int64_t>(cfg.local_tokens, 1), stream));
          }
        });
        MMI_GPU_CHECK(cudaStreamSynchronize(stream));
        build_ms += ms_since(t_build);
        call.view = owned.back().view();
        m.count(k, static_cast<double>(owned.back().total_blocks()), static_cast<double>(owned.back().total_columns()),
                count);
        if (k == Kind::Grid && heatmaps && heatmaps->wants(l, h0, count)) call.grid = std::move(choices);
      }
      calls.push_back(std::move(call));
      h0 = h1;
    }
  }
  rc::sample_memory_use();
  stats.index_estimate_ms += estimate_ms;
  stats.index_build_ms += build_ms;
  stats.index_ms += estimate_ms + build_ms;

  for (const Call& call : calls) {
    const kc::AttentionShape shape = shape_of(n, call.count, c.head_dim);
    const kc::AttentionTensors x = tensors_of(t, n, c.head_dim, call.first, call.kv_head);
    core_call("attention", [&] {
      if (call.kind == Kind::Dense) {
        kc::attention_dense_causal(shape, x, stream);
      } else {
        kc::attention_sparse(shape, x, call.view, stream);
      }
    });
  }
  if (heatmaps) {
    for (const Call& call : calls) {
      if (!heatmaps->wants(l, call.first, call.count)) continue;
      heatmaps->capture(l, t, call.first, call.count, call.kv_head, call.kind == Kind::Dense ? nullptr : &call.view,
                        call.kind == Kind::Dense ? att::Pattern::dense : call.pattern, call.grid, stream);
    }
  }
  // The layer's indices are freed on return: their kernels must be done.
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
}

struct HeatmapCapture::Impl {
  const TextConfig& c;
  const HeatmapRequest& request;
  std::int64_t n;
  std::vector<std::int64_t> periods;  // per video run: h·w, the grid estimator's prior
  std::unique_ptr<kc::DeviceIndex> full;  // one head's full causal index, for dense heads
};

HeatmapCapture::HeatmapCapture(const TextConfig& config, const HeatmapRequest& request, std::int64_t n,
                               const std::vector<Segment>& layout)
    : impl_(std::make_unique<Impl>(Impl{config, request, n, {}, nullptr})) {
  for (const HeatmapRequest::Head& h : request.heads) {
    if (h.layer < 0 || h.layer >= config.layers || h.head < 0 || h.head >= config.heads) {
      throw Error(ErrorCode::InvalidInput, "", "heatmaps",
                  "head (" + std::to_string(h.layer) + ", " + std::to_string(h.head) + ") is not in a model of " +
                      std::to_string(config.layers) + " layers × " + std::to_string(config.heads) + " heads");
    }
  }
  for (const Segment& s : layout) {
    if (s.kind == Segment::Kind::Video) impl_->periods.push_back(s.h * s.w);
  }
}

HeatmapCapture::~HeatmapCapture() = default;

bool HeatmapCapture::wants(std::int64_t layer, std::int64_t first, std::int64_t count) const {
  return std::any_of(impl_->request.heads.begin(), impl_->request.heads.end(), [&](const HeatmapRequest::Head& h) {
    return h.layer == layer && h.head >= first && h.head < first + count;
  });
}

void HeatmapCapture::capture(std::int64_t layer, const LayerTensors& t, int first, int count, int kv_head,
                             const kc::DeviceIndexView* index, att::Pattern pattern,
                             const std::vector<std::vector<kc::GridRunChoice>>& grid, cudaStream_t stream) {
  Impl& m = *impl_;
  const std::int64_t hd = m.c.head_dim;
  std::vector<std::int64_t> heads;  // relative to `first`, ascending, once each
  for (int h = first; h < first + count; ++h) {
    if (wants(layer, h, 1)) heads.push_back(h - first);
  }
  if (heads.empty()) return;
  if (!index && !m.full) {
    core_call("heatmap index", [&] {
      m.full = std::make_unique<kc::DeviceIndex>(kc::DeviceIndex::upload({att::full_index(m.n)}));
    });
  }
  att::HeatmapOptions o = m.request.options;
  o.causal = true;
  o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  std::vector<att::Heatmap> maps;
  if (index) {
    const kc::AttentionTensors x = tensors_of(t, m.n, hd, first, kv_head);
    core_call("heatmaps", [&] {
      maps = kc::heatmaps(shape_of(m.n, count, hd), x.q, x.k, *index, heads, o, stream);
    });
  } else {
    // Dense heads: one head at a time over the one-head full index.
    for (const std::int64_t rel : heads) {
      const kc::AttentionTensors x = tensors_of(t, m.n, hd, first + static_cast<int>(rel), kv_head);
      const std::int64_t zero = 0;
      core_call("heatmaps", [&] {
        auto one = kc::heatmaps(shape_of(m.n, 1, hd), x.q, x.k, m.full->view(), std::span(&zero, 1), o, stream);
        maps.push_back(std::move(one.front()));
      });
    }
  }
  for (std::size_t i = 0; i < heads.size(); ++i) {
    PrefillHeatmap out;
    out.layer = layer;
    out.head = first + heads[i];
    out.pattern = pattern;
    out.heatmap = std::move(maps[i]);
    out.heatmap.head = out.head;
    out.heatmap.recall = std::min(1.0, out.heatmap.recall);
    if (!grid.empty()) {
      const auto& runs = grid[static_cast<std::size_t>(heads[i])];
      for (std::size_t r = 0; r < runs.size(); ++r) {
        const kc::GridRunChoice& g = runs[r];
        out.grid.push_back({{g.start, g.length, g.stride}, m.periods[r], g.phases, g.score});
      }
    }
    m.request.deliver(out);
  }
}

void HeatmapCapture::capture_dense(std::int64_t layer, const LayerTensors& t, cudaStream_t stream) {
  const int group = static_cast<int>(impl_->c.heads / impl_->c.kv_heads);
  for (int g = 0; g < impl_->c.kv_heads; ++g) {
    if (wants(layer, g * group, group)) capture(layer, t, g * group, group, g, nullptr, att::Pattern::dense, {}, stream);
  }
}

}  // namespace mmi::qwen2_5_vl::gpu
