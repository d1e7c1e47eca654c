#include "sparse_gpu.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>

#include "index_builder.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/permutation.hpp"
#include "mmi/cuda/index_build.hpp"
#include "mmi/ops/cuda/estimate.hpp"
#include "mmi/ops/thread_pool.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl::gpu {

namespace att = mmi::attention;
namespace kc = mmi::cuda;
namespace oc = mmi::ops::cuda;
namespace rc = mmi::runtime::cuda;
using runtime::Error;
using runtime::ErrorCode;

namespace {

enum class Kind { Dense, AShape, VerticalSlash, Grid };

// Calls into the attention core's CUDA kernels, with their errors turned into the runtime's.
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

// The number of columns / diagonals vertical-slash keeps (kernels/cpu/src/vertical_slash.cpp's rule).
std::int64_t kept(std::int64_t budget, std::int64_t forced, std::int64_t n) {
  return std::min(std::max(budget, std::min(forced, n)), n);
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
  Impl(const TextConfig& config, const HeadPatterns& p, std::int64_t tokens, ops::ThreadPool* threads)
      : c(config), patterns(p), n(tokens), pool(threads) {}

  const TextConfig& c;
  HeadPatterns patterns;
  std::int64_t n;
  ops::ThreadPool* pool;
  std::vector<Kind> kind;  // [layer · heads + head]
  std::vector<att::GridRun> runs;
  std::vector<std::int32_t> perm, inverse;
  std::vector<std::int64_t> phase_start;
  std::map<std::pair<std::int64_t, std::int64_t>, kc::DeviceIndex> a_shape;  // by (sink, local)
  int max_vs = 0, max_grid = 0;
  std::int64_t vwidth = 0, swidth = 0, max_run = 0;
  // Estimation buffers (arena).
  float* column = nullptr;
  float* diagonal = nullptr;
  float* grid_column = nullptr;
  std::int32_t* verticals = nullptr;
  std::int32_t* slashes = nullptr;
  std::int32_t* heads_dev = nullptr;
  void* mass_ws = nullptr;
  std::size_t mass_ws_bytes = 0;
  // Key tiles computed and dense causal tiles, per kind (A-shape, vertical-slash, grid).
  std::map<Kind, std::pair<double, double>> tiles;
  std::map<std::pair<std::int64_t, std::int64_t>, double> a_shape_tiles;  // per head of each A-shape index

  void count(Kind k, double blocks, double columns, int heads) {
    const double nb = static_cast<double>(num_blocks(n));
    auto& t = tiles[k];
    t.first += blocks + std::ceil(columns / kBlock);
    t.second += heads * nb * (nb + 1) / 2;
  }

  const att::PatternConfig& config(std::int64_t l, std::int64_t h) const { return patterns.at(l, h); }

  oc::MassParams mass(const LayerTensors& t, int count) const {
    oc::MassParams p;
    p.q = t.q;
    p.q_row = c.head_dim;
    p.q_head = n * c.head_dim;
    p.k = t.k;
    p.k_row = c.head_dim;
    p.k_head = t.capacity * c.head_dim;
    p.head_dim = static_cast<int>(c.head_dim);
    p.group = static_cast<int>(c.heads / c.kv_heads);
    p.heads = heads_dev;
    p.count = count;
    p.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    return p;
  }

  // The grid index of one head for the chosen phases of each run: sinks, the band back to the start of each
  // row's phase run in the permuted order, and the phase lines (kernels/cpu/src/grid.cpp's construction, with
  // the layout's period as the stride).
  SparseIndex grid_index(const att::PatternConfig& cfg, const std::vector<std::vector<std::int64_t>>& phases) const {
    att::detail::IndexBuilder builder(n, perm, perm);
    const std::int64_t sinks = std::min(cfg.sink_tokens, n);
    const std::int64_t local = std::max<std::int64_t>(cfg.local_tokens, 1);
    for (std::int64_t qb = 0; qb < builder.blocks(); ++qb) {
      const std::int64_t a = qb * kBlock, b = std::min(n, a + kBlock);
      for (std::int64_t s = 0; s < sinks; ++s) builder.add_column(qb, inverse[static_cast<std::size_t>(s)]);
      std::int64_t reach = a - local + 1;
      for (std::int64_t p = a; p < b; ++p) reach = std::min(reach, phase_start[static_cast<std::size_t>(p)]);
      builder.add_range(qb, reach, b);
      for (std::size_t g = 0; g < runs.size(); ++g) {
        for (std::int64_t phase : phases[g]) {
          const std::int64_t base = runs[g].start + runs[g].phase_offset(phase);
          builder.add_range(qb, base, base + runs[g].phase_count(phase));
        }
      }
    }
    return builder.finish();
  }
};

SparseAttention::SparseAttention(const TextConfig& config, const HeadPatterns& patterns, std::int64_t n,
                                 const std::vector<Segment>& layout, ops::ThreadPool* pool)
    : impl_(std::make_unique<Impl>(config, patterns, n, pool)) {
  Impl& m = *impl_;
  if (patterns.layers != config.layers || patterns.heads != config.heads ||
      static_cast<std::int64_t>(patterns.configs.size()) != config.layers * config.heads) {
    throw Error(ErrorCode::InvalidInput, "", "patterns",
                "expected " + std::to_string(config.layers) + " layers × " + std::to_string(config.heads) +
                    " heads of patterns");
  }
  for (const Segment& s : layout) {
    if (s.kind != Segment::Kind::Video) continue;
    m.runs.push_back({s.begin, s.length, std::min(s.h * s.w, s.length)});
    m.max_run = std::max(m.max_run, s.length);
  }
  m.kind.resize(patterns.configs.size());
  for (std::int64_t l = 0; l < config.layers; ++l) {
    int vs = 0, grid = 0;
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
        case att::Pattern::vertical_slash:
          k = Kind::VerticalSlash;
          ++vs;
          m.vwidth = std::max(m.vwidth, kept(cfg.vertical_slash.vertical, att::kSinkColumns, n));
          m.swidth = std::max(m.swidth, kept(cfg.vertical_slash.slash, att::kLocalSlashes, n));
          break;
        case att::Pattern::grid:
          // Without a video run the grid pattern is its band and sinks alone, as on the CPU.
          k = Kind::Grid;
          ++grid;
          break;
        default:
          throw Error(ErrorCode::InvalidInput, "", "patterns",
                      std::string("layer ") + std::to_string(l) + " head " + std::to_string(h) + ": pattern " +
                          att::pattern_name(cfg.pattern) + " does not run on the GPU yet (dense, a_shape, "
                          "vertical_slash and grid do)");
      }
      m.kind[static_cast<std::size_t>(l * config.heads + h)] = k;
    }
    m.max_vs = std::max(m.max_vs, vs);
    m.max_grid = std::max(m.max_grid, grid);
  }
  if (m.max_grid > 0) {
    m.perm = att::grid_permutation(n, m.runs);
    m.inverse = att::inverse_permutation(m.perm);
    m.phase_start.resize(static_cast<std::size_t>(n));
    std::iota(m.phase_start.begin(), m.phase_start.end(), 0);
    for (const att::GridRun& run : m.runs) {
      for (std::int64_t r = 0; r < run.stride; ++r) {
        const std::int64_t base = run.start + run.phase_offset(r);
        std::fill_n(m.phase_start.begin() + base, run.phase_count(r), base);
      }
    }
  }
}

SparseAttention::~SparseAttention() = default;

std::uint64_t SparseAttention::arena_bytes() const {
  const Impl& m = *impl_;
  const auto a = [](std::uint64_t b) { return rc::Arena::aligned(b); };
  const std::uint64_t vs = static_cast<std::uint64_t>(m.max_vs);
  const int count = std::max(m.max_vs, m.max_grid);
  return a(vs * m.n * 4) * 2 + a(static_cast<std::uint64_t>(m.max_grid) * m.max_run * 4) + a(vs * m.vwidth * 4) +
         a(vs * m.swidth * 4) + a(static_cast<std::uint64_t>(m.c.heads) * 4) +
         (count > 0 ? a(oc::mass_workspace_bytes(count, m.n)) : 0);
}

std::uint64_t SparseAttention::index_bytes() const {
  const Impl& m = *impl_;
  const std::uint64_t nb = static_cast<std::uint64_t>(num_blocks(m.n));
  std::uint64_t bytes = 0;
  // Offsets for every head, ids as the budgets allow (upper bounds).
  const std::uint64_t offsets = nb * 16;
  bytes += static_cast<std::uint64_t>(m.max_vs) * (offsets + nb * 4 * (m.swidth / kBlock + 3 + m.vwidth));
  std::uint64_t grid_ids = 0, a_ids = 0;
  for (const auto& cfg : m.patterns.configs) {
    if (cfg.pattern == att::Pattern::grid) {
      std::uint64_t lines = 0;
      for (const att::GridRun& run : m.runs) {
        lines += static_cast<std::uint64_t>(cfg.grid_lines) * (run.length / run.stride / kBlock + 2);
      }
      grid_ids = std::max<std::uint64_t>(grid_ids, cfg.sink_tokens + cfg.local_tokens / kBlock + 3 + lines);
    } else if (cfg.pattern == att::Pattern::a_shape) {
      a_ids = std::max<std::uint64_t>(a_ids, (cfg.sink_tokens + cfg.local_tokens) / kBlock + 3);
    }
  }
  bytes += static_cast<std::uint64_t>(m.max_grid) * (offsets + nb * 4 * grid_ids + 8 * m.n);
  bytes += static_cast<std::uint64_t>(m.c.heads) * (offsets + nb * 4 * a_ids) * 2;
  return bytes;
}

void SparseAttention::prepare(rc::Arena& arena, cudaStream_t) {
  Impl& m = *impl_;
  const std::size_t vs = static_cast<std::size_t>(m.max_vs);
  m.column = arena.take<float>(vs * static_cast<std::size_t>(m.n));
  m.diagonal = arena.take<float>(vs * static_cast<std::size_t>(m.n));
  m.grid_column = arena.take<float>(static_cast<std::size_t>(m.max_grid * m.max_run));
  m.verticals = arena.take<std::int32_t>(vs * static_cast<std::size_t>(m.vwidth));
  m.slashes = arena.take<std::int32_t>(vs * static_cast<std::size_t>(m.swidth));
  m.heads_dev = arena.take<std::int32_t>(static_cast<std::size_t>(m.c.heads));
  const int count = std::max(m.max_vs, m.max_grid);
  if (count > 0) {
    m.mass_ws_bytes = oc::mass_workspace_bytes(count, m.n);
    m.mass_ws = arena.take_bytes(m.mass_ws_bytes);
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
  for (const auto& [kind, t] : impl_->tiles) {
    const char* name = kind == Kind::AShape ? "a_shape" : kind == Kind::VerticalSlash ? "vertical_slash" : "grid";
    out.emplace_back(name, t.second > 0 ? t.first / t.second : 0.0);
  }
  return out;
}

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void SparseAttention::run(std::int64_t l, const LayerTensors& t, cudaStream_t stream, RunStats& stats) {
  Impl& m = *impl_;
  const TextConfig& c = m.c;
  const std::int64_t n = m.n;
  const auto t0 = std::chrono::steady_clock::now();
  double build_ms = 0.0;
  std::vector<int> vs, grid;  // query heads, ascending
  for (int h = 0; h < c.heads; ++h) {
    const Kind k = m.kind[static_cast<std::size_t>(l * c.heads + h)];
    if (k == Kind::VerticalSlash) vs.push_back(h);
    if (k == Kind::Grid) grid.push_back(h);
  }

  kc::DeviceIndex vs_index, grid_index;
  if (!vs.empty()) {
    rc::copy_to_device(m.heads_dev, vs.data(), vs.size() * sizeof(int), stream);
    oc::MassParams p = m.mass(t, static_cast<int>(vs.size()));
    p.row_begin = std::max<std::int64_t>(0, n - att::kLastQueries);
    p.row_end = n;
    p.key_begin = 0;
    p.key_end = n;
    p.column = m.column;
    p.diagonal = m.diagonal;
    p.diag_len = n;
    oc::attention_mass(p, m.mass_ws, m.mass_ws_bytes, stream);
    std::int64_t vwidth = 0, swidth = 0;
    for (int h : vs) {
      vwidth = std::max(vwidth, kept(m.config(l, h).vertical_slash.vertical, att::kSinkColumns, n));
      swidth = std::max(swidth, kept(m.config(l, h).vertical_slash.slash, att::kLocalSlashes, n));
    }
    // One selection per run of heads with the same budgets (one block per head each).
    for (std::size_t i = 0; i < vs.size();) {
      const att::VerticalSlashBudget& b = m.config(l, vs[i]).vertical_slash;
      std::size_t j = i + 1;
      while (j < vs.size() && m.config(l, vs[j]).vertical_slash.vertical == b.vertical &&
             m.config(l, vs[j]).vertical_slash.slash == b.slash) {
        ++j;
      }
      const int rows = static_cast<int>(j - i);
      oc::top_k_ascending(m.column + i * n, rows, n, att::kSinkColumns, b.vertical, m.verticals + i * vwidth, vwidth,
                          stream);
      oc::top_k_ascending(m.diagonal + i * n, rows, n, att::kLocalSlashes, b.slash, m.slashes + i * swidth, swidth,
                          stream);
      i = j;
    }
    MMI_GPU_CHECK(cudaStreamSynchronize(stream));
    const auto t_build = std::chrono::steady_clock::now();
    core_call("vertical-slash index", [&] {
      vs_index = kc::vertical_slash_index(n, static_cast<std::int32_t>(vs.size()), m.verticals,
                                          static_cast<std::int32_t>(vwidth), m.slashes,
                                          static_cast<std::int32_t>(swidth), stream);
    });
    m.count(Kind::VerticalSlash, static_cast<double>(vs_index.total_blocks()),
            static_cast<double>(vs_index.total_columns()), static_cast<int>(vs.size()));
    build_ms += ms_since(t_build);
  }
  if (!grid.empty()) {
    // Phases per head and run: the most attended phases of the run's last rows, at the layout's period.
    std::vector<std::vector<std::vector<std::int64_t>>> phases(grid.size(), std::vector<std::vector<std::int64_t>>(m.runs.size()));
    rc::copy_to_device(m.heads_dev, grid.data(), grid.size() * sizeof(int), stream);
    std::vector<float> mass;
    for (std::size_t r = 0; r < m.runs.size(); ++r) {
      const att::GridRun& run = m.runs[r];
      oc::MassParams p = m.mass(t, static_cast<int>(grid.size()));
      p.row_end = run.start + run.length;
      p.row_begin = std::max(run.start, p.row_end - att::kLastQueries);
      p.key_begin = run.start;
      p.key_end = p.row_end;
      p.column = m.grid_column;
      oc::attention_mass(p, m.mass_ws, m.mass_ws_bytes, stream);
      mass.resize(grid.size() * static_cast<std::size_t>(run.length));
      rc::copy_to_host(mass.data(), m.grid_column, mass.size() * sizeof(float), stream);
      for (std::size_t i = 0; i < grid.size(); ++i) {
        std::vector<double> phase_mass(static_cast<std::size_t>(run.stride), 0.0);
        for (std::int64_t u = 0; u < run.length; ++u) {
          phase_mass[static_cast<std::size_t>(u % run.stride)] += mass[i * static_cast<std::size_t>(run.length) + u];
        }
        std::vector<std::int64_t> order(phase_mass.size());
        std::iota(order.begin(), order.end(), 0);
        const auto lines = std::min<std::int64_t>(m.config(l, grid[i]).grid_lines, run.stride);
        std::partial_sort(order.begin(), order.begin() + lines, order.end(), [&](std::int64_t a, std::int64_t b) {
          return phase_mass[a] != phase_mass[b] ? phase_mass[a] > phase_mass[b] : a < b;
        });
        order.resize(static_cast<std::size_t>(lines));
        std::sort(order.begin(), order.end());
        phases[i][r] = std::move(order);
      }
    }
    const auto t_build = std::chrono::steady_clock::now();
    std::vector<SparseIndex> indices(grid.size());
    const auto build = [&](std::int64_t i) {
      indices[static_cast<std::size_t>(i)] = m.grid_index(m.config(l, grid[static_cast<std::size_t>(i)]),
                                                          phases[static_cast<std::size_t>(i)]);
    };
    if (m.pool) {
      m.pool->parallel_for(static_cast<std::int64_t>(grid.size()), build);
    } else {
      for (std::size_t i = 0; i < grid.size(); ++i) build(static_cast<std::int64_t>(i));
    }
    core_call("grid index", [&] { grid_index = kc::DeviceIndex::upload(indices); });
    for (const SparseIndex& x : indices) {
      m.count(Kind::Grid, static_cast<double>(x.block_ids.size()), static_cast<double>(x.column_ids.size()), 1);
    }
    build_ms += ms_since(t_build);
  }
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
  rc::sample_memory_use();
  const double index_ms = ms_since(t0);
  stats.index_ms += index_ms;
  stats.index_build_ms += build_ms;
  stats.index_estimate_ms += index_ms - build_ms;

  // Runs of consecutive heads of one kv head with one kind of index: one kernel call each.
  const int group = static_cast<int>(c.heads / c.kv_heads);
  for (int g = 0; g < c.kv_heads; ++g) {
    for (int h0 = g * group; h0 < (g + 1) * group;) {
      const Kind k = m.kind[static_cast<std::size_t>(l * c.heads + h0)];
      const att::PatternConfig& cfg0 = m.config(l, h0);
      int h1 = h0 + 1;
      while (h1 < (g + 1) * group && m.kind[static_cast<std::size_t>(l * c.heads + h1)] == k &&
             (k != Kind::AShape || (m.config(l, h1).sink_tokens == cfg0.sink_tokens &&
                                    m.config(l, h1).local_tokens == cfg0.local_tokens))) {
        ++h1;
      }
      const int count = h1 - h0;
      const kc::AttentionShape shape = shape_of(n, count, c.head_dim);
      const kc::AttentionTensors x = tensors_of(t, n, c.head_dim, h0, g);
      const auto position = [](const std::vector<int>& heads, int h) {
        return static_cast<int>(std::find(heads.begin(), heads.end(), h) - heads.begin());
      };
      core_call("sparse attention", [&] {
        switch (k) {
          case Kind::Dense: kc::attention_dense_causal(shape, x, stream); break;
          case Kind::AShape:
            m.count(Kind::AShape, count * m.a_shape_tiles.at({cfg0.sink_tokens, cfg0.local_tokens}), 0, count);
            kc::attention_sparse(shape, x, heads_of(m.a_shape.at({cfg0.sink_tokens, cfg0.local_tokens}).view(), h0, count),
                                 stream);
            break;
          case Kind::VerticalSlash:
            kc::attention_sparse(shape, x, heads_of(vs_index.view(), position(vs, h0), count), stream);
            break;
          case Kind::Grid:
            kc::attention_sparse(shape, x, heads_of(grid_index.view(), position(grid, h0), count), stream);
            break;
        }
      });
      h0 = h1;
    }
  }
  // The layer's indices are freed on return: their kernels must be done.
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace mmi::qwen2_5_vl::gpu
