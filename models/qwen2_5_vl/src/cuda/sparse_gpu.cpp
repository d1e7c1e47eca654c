#include "sparse_gpu.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/cuda/estimate.hpp"
#include "mmi/cuda/index_build.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl::gpu {

namespace att = mmi::attention;
namespace kc = mmi::cuda;
namespace rc = mmi::runtime::cuda;
using runtime::Error;
using runtime::ErrorCode;

namespace {

enum class Kind { Dense, AShape, VerticalSlash, Grid };

constexpr std::int64_t kMaxGridLines = 16;
constexpr std::size_t kMaxGridRuns = 8;

const char* kind_name(Kind k) {
  return k == Kind::AShape ? "a_shape" : k == Kind::VerticalSlash ? "vertical_slash" : k == Kind::Grid ? "grid" : "dense";
}

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
         a.grid_lines == b.grid_lines && a.vertical_slash.vertical == b.vertical_slash.vertical &&
         a.vertical_slash.slash == b.vertical_slash.slash;
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
        default:
          throw Error(ErrorCode::InvalidInput, "", "patterns",
                      std::string("layer ") + std::to_string(l) + " head " + std::to_string(h) + ": pattern " +
                          att::pattern_name(cfg.pattern) +
                          " does not run on the GPU yet (dense, a_shape, vertical_slash and grid do)");
      }
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
    }
    ids = std::max(ids, x);
  }
  per_head += nb * 4 * std::min<std::uint64_t>(ids, nb + static_cast<std::uint64_t>(m.n));
  return heads * per_head * 2;  // the A-shape copies live beside one layer's estimated indices
}

void SparseAttention::prepare(cudaStream_t) {
  Impl& m = *impl_;
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

void SparseAttention::run(std::int64_t l, const LayerTensors& t, cudaStream_t stream, RunStats& stats) {
  Impl& m = *impl_;
  const TextConfig& c = m.c;
  const std::int64_t n = m.n;
  const int group = static_cast<int>(c.heads / c.kv_heads);
  // The layer's projections first, so the times below are the indices' own.
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));

  struct Call {
    Kind kind;
    int first, count, kv_head;
    kc::DeviceIndexView view;
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
      Call call{k, h0, count, g, {}};
      const kc::AttentionShape shape = shape_of(n, count, c.head_dim);
      const kc::AttentionTensors x = tensors_of(t, n, c.head_dim, h0, g);
      if (k == Kind::AShape) {
        call.view = heads_of(m.a_shape.at({cfg.sink_tokens, cfg.local_tokens}).view(), h0, count);
        m.count(Kind::AShape, count * m.a_shape_tiles.at({cfg.sink_tokens, cfg.local_tokens}), 0, count);
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
      }
      calls.push_back(call);
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
  // The layer's indices are freed on return: their kernels must be done.
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace mmi::qwen2_5_vl::gpu
