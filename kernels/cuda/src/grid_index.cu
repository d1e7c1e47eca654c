// The grid pattern's permutation and index on the GPU (the CPU core's grid pattern, kernels/cpu/src/grid.cpp, is
// the reference): per head, each video run permuted phase-major; per query block the sinks, a band reaching back to
// the start of each row's phase run, and the line phases' runs, in kernel order; key blocks wholly after the query
// block's latest row dropped, full blocks of sink columns promoted. Count pass, scan, fill pass.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>

#include "mmi/cuda/estimate.hpp"

#include "index_csr.hpp"

namespace mmi::cuda {
namespace {

constexpr int64_t kB = 64;
constexpr int kMaxRuns = static_cast<int>(kMaxGridRuns);
constexpr int kMaxLines = static_cast<int>(kMaxGridLines);
constexpr int kMaxSinks = 256;

struct RunDev {
  int64_t start, length, stride;
  int32_t lines;
  int32_t phases[kMaxLines];
};

struct GridDev {
  int64_t n, nb;
  int32_t heads, runs;
  int64_t sinks, local;
  const RunDev* run;       // [heads, runs]
  int32_t* perm;           // [heads, n] kernel -> original
  int32_t* inverse;        // [heads, n] original -> kernel
  int32_t* phase_start;    // [heads, n] kernel position where the row's phase run starts (itself outside runs)
  int32_t* first_key;      // [heads, nb] earliest original position of each kernel key block
  int32_t* last_row;       // [heads, nb] latest original position of each kernel query block
  int32_t* sink_cols;      // [heads, sinks] kernel positions of the sink tokens, ascending
};

__device__ int64_t phase_count(const RunDev& r, int64_t phase) {
  return r.length / r.stride + (phase < r.length % r.stride ? 1 : 0);
}
__device__ int64_t phase_offset(const RunDev& r, int64_t phase) {
  return phase * (r.length / r.stride) + min(phase, r.length % r.stride);
}

__global__ void grid_perm(GridDev g) {
  const int64_t total = g.n * g.heads;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = i / g.n, pos = i % g.n;
    int64_t orig = pos, pstart = pos;
    for (int ri = 0; ri < g.runs; ++ri) {
      const RunDev& r = g.run[h * g.runs + ri];
      if (pos < r.start || pos >= r.start + r.length) continue;
      const int64_t rel = pos - r.start, q = r.length / r.stride, rem = r.length % r.stride;
      int64_t phase, f;
      if (rel < rem * (q + 1)) {
        phase = rel / (q + 1);
        f = rel % (q + 1);
      } else {
        phase = rem + (rel - rem * (q + 1)) / q;
        f = (rel - rem * (q + 1)) % q;
      }
      orig = r.start + f * r.stride + phase;
      pstart = r.start + phase_offset(r, phase);
    }
    g.perm[i] = static_cast<int32_t>(orig);
    g.inverse[h * g.n + orig] = static_cast<int32_t>(pos);
    g.phase_start[i] = static_cast<int32_t>(pstart);
  }
}

__global__ void grid_block_bounds(GridDev g) {
  const int64_t total = g.nb * g.heads;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = i / g.nb, b = i % g.nb;
    int32_t lo = INT_MAX, hi = INT_MIN;
    for (int64_t p = b * kB; p < min(g.n, b * kB + kB); ++p) {
      const int32_t o = g.perm[h * g.n + p];
      lo = min(lo, o);
      hi = max(hi, o);
    }
    g.first_key[i] = lo;
    g.last_row[i] = hi;
  }
}

__global__ void grid_sinks(GridDev g) {
  const int64_t h = blockIdx.x;
  if (threadIdx.x != 0) return;
  int32_t* out = g.sink_cols + h * g.sinks;
  for (int64_t t = 0; t < g.sinks; ++t) {  // insertion sort: at most a few hundred entries
    const int32_t v = g.inverse[h * g.n + t];
    int64_t j = t;
    while (j > 0 && out[j - 1] > v) {
      out[j] = out[j - 1];
      --j;
    }
    out[j] = v;
  }
}

// Walks query block i of head h: block(b) for key blocks ascending, column(k) for columns ascending.
template <typename BlockFn, typename ColumnFn>
__device__ void grid_walk(const GridDev& g, int64_t h, int64_t i, BlockFn&& block, ColumnFn&& column) {
  const int64_t a = i * kB, b = min(g.n, a + kB);
  // Key ranges in kernel order: the band, then every line phase of every run.
  int64_t lo[1 + kMaxRuns * kMaxLines], hi[1 + kMaxRuns * kMaxLines];
  int count = 0;
  int64_t reach = a - g.local + 1;
  for (int64_t p = a; p < b; ++p) reach = min(reach, static_cast<int64_t>(g.phase_start[h * g.n + p]));
  lo[count] = reach > 0 ? reach : 0;
  hi[count++] = b;
  for (int ri = 0; ri < g.runs; ++ri) {
    const RunDev& r = g.run[h * g.runs + ri];
    for (int li = 0; li < r.lines; ++li) {
      const int64_t base = r.start + phase_offset(r, r.phases[li]);
      lo[count] = base;
      hi[count++] = base + phase_count(r, r.phases[li]);
    }
  }
  // Block intervals, sorted by start (insertion sort: a handful of ranges).
  int64_t blo[1 + kMaxRuns * kMaxLines], bhi[1 + kMaxRuns * kMaxLines];
  for (int j = 0; j < count; ++j) {
    const int64_t l = lo[j] / kB, e = (hi[j] - 1) / kB;
    int x = j;
    while (x > 0 && blo[x - 1] > l) {
      blo[x] = blo[x - 1];
      bhi[x] = bhi[x - 1];
      --x;
    }
    blo[x] = l;
    bhi[x] = e;
  }
  const int32_t limit = g.last_row[h * g.nb + i];
  const int32_t* fk = g.first_key + h * g.nb;
  auto marked = [&](int64_t kb) {
    for (int j = 0; j < count; ++j) {
      if (kb >= blo[j] && kb <= bhi[j]) return true;
    }
    return false;
  };
  // Sink columns: promoted when they fill a key block, else kept unless inside a marked block or in the future.
  const int32_t* sinks = g.sink_cols + h * g.sinks;
  int64_t promoted[kMaxSinks / kB + 1];
  int np = 0;
  for (int64_t s = 0; s < g.sinks;) {
    const int64_t kb = sinks[s] / kB;
    int64_t e = s;
    while (e < g.sinks && sinks[e] / kB == kb) ++e;
    if (e - s == min(kB, g.n - kb * kB) && !marked(kb)) promoted[np++] = kb;
    s = e;
  }
  // Emit blocks: union of intervals and promoted blocks, ascending, causal.
  int pi = 0;
  int64_t next = 0;  // first block not yet considered
  for (int j = 0; j <= count; ++j) {
    const int64_t l = j < count ? blo[j] : g.nb, e = j < count ? bhi[j] : g.nb - 1;
    while (pi < np && promoted[pi] < l) {
      if (promoted[pi] >= next && fk[promoted[pi]] <= limit) block(promoted[pi]);
      next = max(next, promoted[pi] + 1);
      ++pi;
    }
    if (j == count) break;
    for (int64_t kb = max(l, next); kb <= e; ++kb) {
      if (fk[kb] <= limit) block(kb);
    }
    next = max(next, e + 1);
  }
  for (int64_t s = 0; s < g.sinks; ++s) {
    const int64_t c = sinks[s], kb = c / kB;
    if (marked(kb)) continue;
    bool full = false;
    for (int x = 0; x < np; ++x) full |= promoted[x] == kb;
    if (full) continue;
    if (g.perm[h * g.n + c] > limit) continue;
    column(c);
  }
}

__global__ void grid_count(GridDev g, int64_t* block_counts, int64_t* column_counts) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= g.nb * g.heads) return;
  int64_t nbk = 0, ncol = 0;
  grid_walk(g, idx / g.nb, idx % g.nb, [&](int64_t) { ++nbk; }, [&](int64_t) { ++ncol; });
  block_counts[idx] = nbk;
  column_counts[idx] = ncol;
}

__global__ void grid_fill(GridDev g, const int64_t* block_offsets, const int64_t* column_offsets, int32_t* block_ids,
                          int32_t* column_ids) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= g.nb * g.heads) return;
  int32_t* bo = block_ids + block_offsets[idx];
  int32_t* co = column_ids + column_offsets[idx];
  grid_walk(
      g, idx / g.nb, idx % g.nb, [&](int64_t b) { *bo++ = static_cast<int32_t>(b); },
      [&](int64_t c) { *co++ = static_cast<int32_t>(c); });
}

}  // namespace

DeviceIndex grid_index(int64_t n, const std::vector<std::vector<GridRunChoice>>& choices, int64_t sinks, int64_t local,
                       Stream stream_handle) {
  if (n <= 0 || n > INT32_MAX - 2) throw Error("grid index: N out of range");
  if (choices.empty()) throw Error("grid index: no heads");
  if (sinks < 0 || local < 1) throw Error("grid index: sinks must be >= 0 and local >= 1");
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const auto heads = static_cast<int32_t>(choices.size());
  const auto runs = static_cast<int32_t>(choices.front().size());
  if (runs > kMaxRuns) throw Error("grid index: at most 8 video runs");
  std::vector<RunDev> host(static_cast<size_t>(heads) * std::max(runs, 1));
  for (int32_t h = 0; h < heads; ++h) {
    if (static_cast<int32_t>(choices[static_cast<size_t>(h)].size()) != runs) throw Error("grid index: ragged runs");
    int64_t previous_end = 0;
    for (int32_t r = 0; r < runs; ++r) {
      const GridRunChoice& c = choices[static_cast<size_t>(h)][static_cast<size_t>(r)];
      if (c.start < previous_end || c.length <= 0 || c.start + c.length > n || c.stride < 1 || c.stride > c.length) {
        throw Error("grid index: runs must lie in [0, N) in order, with 1 <= stride <= length");
      }
      if (static_cast<int64_t>(c.phases.size()) > kMaxLines) throw Error("grid index: at most 16 line phases");
      previous_end = c.start + c.length;
      RunDev d{c.start, c.length, c.stride, static_cast<int32_t>(c.phases.size()), {}};
      for (size_t li = 0; li < c.phases.size(); ++li) {
        if (c.phases[li] < 0 || c.phases[li] >= c.stride) throw Error("grid index: phase outside the stride");
        d.phases[li] = static_cast<int32_t>(c.phases[li]);
      }
      host[static_cast<size_t>(h) * runs + r] = d;
    }
  }
  const int64_t nb = num_blocks(n);
  const int64_t sink_count = std::min({sinks, n, static_cast<int64_t>(kMaxSinks)});
  if (sinks > kMaxSinks) throw Error("grid index: at most 256 sink tokens");
  DeviceBuffer<RunDev> run_dev(host, stream_handle);
  DeviceIndex index(n, heads, stream_handle);
  index.row_perm = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * n);
  DeviceBuffer<int32_t> inverse(static_cast<size_t>(heads) * n), phase_start(static_cast<size_t>(heads) * n);
  DeviceBuffer<int32_t> first_key(static_cast<size_t>(heads) * nb), last_row(static_cast<size_t>(heads) * nb);
  DeviceBuffer<int32_t> sink_cols(static_cast<size_t>(heads) * std::max<int64_t>(sink_count, 1));
  GridDev g{n,          nb,        heads,           runs,           sink_count,     local,
            run_dev.get(), index.row_perm.get(), inverse.get(), phase_start.get(), first_key.get(), last_row.get(),
            sink_cols.get()};
  grid_perm<<<1024, 256, 0, stream>>>(g);
  MMI_CUDA_CHECK_LAUNCH("grid_perm");
  grid_block_bounds<<<256, 256, 0, stream>>>(g);
  MMI_CUDA_CHECK_LAUNCH("grid_block_bounds");
  grid_sinks<<<heads, 32, 0, stream>>>(g);
  MMI_CUDA_CHECK_LAUNCH("grid_sinks");
  const int64_t m = nb * heads;
  const auto blocks = static_cast<unsigned>((m + 127) / 128);
  grid_count<<<blocks, 128, 0, stream>>>(g, index.block_offsets.get(), index.column_offsets.get());
  MMI_CUDA_CHECK_LAUNCH("grid_count");
  detail::counts_to_offsets(index, m, stream);
  grid_fill<<<blocks, 128, 0, stream>>>(g, index.block_offsets.get(), index.column_offsets.get(),
                                        index.block_ids.get(), index.column_ids.get());
  MMI_CUDA_CHECK_LAUNCH("grid_fill");
  // Rows and keys share the permutation.
  index.col_perm = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * n);
  MMI_CUDA_CHECK(cudaMemcpyAsync(index.col_perm.get(), index.row_perm.get(), static_cast<size_t>(heads) * n * 4,
                                 cudaMemcpyDeviceToDevice, stream));
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return index;
}

}  // namespace mmi::cuda
