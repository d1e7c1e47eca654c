// The boundary patterns on the GPU (docs/algorithm.md §4.5-4.6; the CPU core's q_boundary and two_d_boundary
// estimates are the reference): the modality order, the softmax of each row group's last 64 rows (tensor cores,
// estimate.cu), per region the column and diagonal mass in the key order, vertical-slash selections (radix
// selection over the diagonals ranked by nearness, as the CPU core ranks them), and the index: one CTA per (head,
// query block) marks the key blocks each region's slash bands cover over the block's runs of row coordinates in a
// shared-memory bitset, promotes full blocks of columns, and writes blocks and columns in order, dropping what is
// wholly after the block's latest row. Count pass, scan, fill pass.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include "estimate_internal.hpp"
#include "index_csr.hpp"
#include "mmi/cuda/estimate.hpp"
#include "select.cuh"

namespace mmi::cuda {
namespace {

constexpr int64_t kB = 64;
constexpr int kThreads = 256;
constexpr int kMaxRegions = 4;
constexpr int kMaxLists = 6;
// The estimation probabilities of one call's heads stay under this many bytes (heads are taken in chunks).
constexpr size_t kProbabilityBytes = size_t{512} << 20;

__device__ __forceinline__ int64_t ranked_offset(int64_t i) { return (i & 1) ? -(i + 1) / 2 : i / 2; }

// column[h][c] = sum of the rows' probabilities at key-order position c; diagonal[h][g][o + n - 1] = the same along
// c = coord[r] - o, split by key group g (c < split: 0, else 1).
__global__ void group_mass(const float* prob, int64_t n, const int32_t* coords, int32_t rows, int64_t split,
                           float* column, float* diagonal) {
  __shared__ int32_t coord[64];
  const int64_t h = blockIdx.y;
  if (threadIdx.x < 64) coord[threadIdx.x] = threadIdx.x < rows ? coords[threadIdx.x] : 0;
  __syncthreads();
  const float* p = prob + h * 64 * n;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < n) {
    float s = 0.0f;
    for (int r = 0; r < rows; ++r) s += p[r * n + t];
    column[h * n + t] = s;
  }
  if (t < 2 * n - 1) {
    const int64_t o = t - (n - 1);
    float acc[2] = {0.0f, 0.0f};
    for (int r = 0; r < rows; ++r) {
      const int64_t c = coord[r] - o;
      if (c >= 0 && c < n) acc[c < split ? 0 : 1] += p[r * n + c];
    }
    diagonal[(h * 2 + 0) * (2 * n - 1) + t] = acc[0];
    diagonal[(h * 2 + 1) * (2 * n - 1) + t] = acc[1];
  }
}

// ranked[h][i] = diagonal mass at offset ranked_offset(i) (0, -1, 1, -2, ...), offsets [0, forced) at +inf.
__global__ void rank_diagonals(const float* diagonal, int64_t n, int32_t group, int64_t forced, int32_t heads,
                               float* ranked) {
  const int64_t m = 2 * n - 1, total = m * heads;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = e / m, i = e % m, o = ranked_offset(i);
    ranked[e] = (o >= 0 && o < forced) ? INFINITY : diagonal[(h * 2 + group) * m + o + n - 1];
  }
}

// Per head: the selected ranks (ascending) -> offsets ascending -> bands of consecutive offsets.
__global__ void __launch_bounds__(1024) ranks_to_bands(const int32_t* ranks, int32_t count, int32_t* offsets,
                                                        int32_t* band_lo, int32_t* band_hi, int32_t* band_count) {
  __shared__ int warp_sums[33];
  __shared__ int odd_total;
  const int64_t h = blockIdx.x;
  const int32_t* r = ranks + h * count;
  int32_t* off = offsets + h * count;
  if (threadIdx.x == 0) odd_total = 0;
  __syncthreads();
  int odd = 0;
  for (int j = threadIdx.x; j < count; j += blockDim.x) odd += r[j] & 1;
  atomicAdd(&odd_total, odd);
  __syncthreads();
  const int num_odd = odd_total;
  // Odd ranks are the negative offsets, farthest last: they go first, reversed.
  int odd_seen = 0;
  for (int base = 0; base < count; base += blockDim.x) {
    const int j = base + threadIdx.x;
    const bool valid = j < count;
    const bool is_odd = valid && (r[j] & 1);
    int total = 0;
    const int before = odd_seen + detail::block_prefix(is_odd, warp_sums, total);
    if (valid) {
      if (is_odd) {
        off[num_odd - 1 - before] = -(r[j] + 1) / 2;
      } else {
        off[num_odd + (j - before)] = r[j] / 2;
      }
    }
    odd_seen += total;
  }
  __syncthreads();
  int starts = 0;
  for (int base = 0; base < count; base += blockDim.x) {
    const int j = base + threadIdx.x;
    const bool valid = j < count;
    const bool start = valid && (j == 0 || off[j - 1] + 1 != off[j]);
    const bool end = valid && (j == count - 1 || off[j] + 1 != off[j + 1]);
    int total = 0;
    const int before = starts + detail::block_prefix(start, warp_sums, total);
    if (start) band_lo[h * count + before] = off[j];
    if (end) band_hi[h * count + before + (start ? 1 : 0) - 1] = off[j];
    starts += total;
  }
  if (threadIdx.x == 0) band_count[h] = starts;
}

// Per head: the sorted union of two ascending lists of distinct positions.
__global__ void merge_lists(const int32_t* a, int32_t wa, const int32_t* ca, const int32_t* b, int32_t wb,
                            const int32_t* cb, int32_t* out, int32_t* out_count) {
  const int64_t h = blockIdx.x;
  if (threadIdx.x != 0) return;
  const int32_t la = ca ? ca[h] : wa, lb = cb ? cb[h] : wb;
  const int32_t* x = a + h * wa;
  const int32_t* y = b + h * wb;
  int32_t* o = out + h * (wa + wb);
  int32_t i = 0, j = 0, m = 0;
  while (i < la || j < lb) {
    if (j >= lb || (i < la && x[i] < y[j])) {
      o[m++] = x[i++];
    } else if (i >= la || y[j] < x[i]) {
      o[m++] = y[j++];
    } else {
      o[m++] = x[i++];
      ++j;
    }
  }
  out_count[h] = m;
}

struct RegionDev {
  int64_t row_begin, row_end, key_begin, key_end;
  const int32_t* band_lo;  // [heads, band_width]
  const int32_t* band_hi;
  const int32_t* band_count;  // [heads]; null: no bands
  int32_t band_width;
};

struct ListDev {
  const int32_t* ids;     // [heads, width]
  const int32_t* counts;  // [heads]; null: width entries
  int32_t width;
};

struct RegionsDev {
  int64_t n, nb, text;
  int32_t heads, regions;
  RegionDev region[kMaxRegions];
  ListDev list[kMaxLists];
  int8_t seq[3][2];          // column lists of a query block of text rows only, of both groups, of video rows only
  const int32_t* row_perm;   // kernel row -> original token; null: identity
  const int32_t* col_perm;   // kernel key -> original token; null: identity
  bool coord_is_original;    // the rows' key coordinate: their original position (keys unpermuted) or kernel row
  const int32_t* last_row;   // [nb]: latest original row of each kernel query block
  const int32_t* first_key;  // [nb]: earliest original key of each kernel key block
};

__global__ void block_bounds(int64_t n, const int32_t* row_perm, const int32_t* col_perm, int32_t* last_row,
                             int32_t* first_key) {
  const int64_t nb = (n + kB - 1) / kB;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < nb;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int32_t hi = INT_MIN, lo = INT_MAX;
    for (int64_t p = b * kB; p < min(n, b * kB + kB); ++p) {
      hi = max(hi, row_perm ? row_perm[p] : static_cast<int32_t>(p));
      lo = min(lo, col_perm ? col_perm[p] : static_cast<int32_t>(p));
    }
    last_row[b] = hi;
    first_key[b] = lo;
  }
}

__device__ __forceinline__ int32_t list_length(const ListDev& l, int64_t h) {
  return l.ids == nullptr ? 0 : l.counts ? l.counts[h] : l.width;
}

template <bool Fill>
__global__ void __launch_bounds__(kThreads) regions_walk(RegionsDev g, int64_t* block_counts, int64_t* column_counts,
                                                        const int64_t* block_offsets, const int64_t* column_offsets,
                                                        int32_t* block_ids, int32_t* column_ids) {
  extern __shared__ uint32_t bits[];
  __shared__ int32_t run_c0[kMaxRegions][64], run_c1[kMaxRegions][64];
  __shared__ int run_n[kMaxRegions];
  __shared__ int warp_sums[33];
  const int64_t qb = blockIdx.x, h = blockIdx.y;
  const int64_t a = qb * kB, b = min(g.n, a + kB);
  const int64_t words = (g.nb + 31) / 32;
  for (int64_t w = threadIdx.x; w < words; w += blockDim.x) bits[w] = 0u;
  if (threadIdx.x < g.regions) {
    // The region's rows of this block, as sorted runs of consecutive key coordinates.
    const int r = threadIdx.x;
    const RegionDev& reg = g.region[r];
    const int64_t lo = max(reg.row_begin, a), hi = min(reg.row_end, b);
    int32_t c[64];
    int m = 0;
    for (int64_t p = lo; p < hi; ++p) {
      const int32_t v = g.coord_is_original && g.row_perm ? g.row_perm[p] : static_cast<int32_t>(p);
      int x = m++;
      while (x > 0 && c[x - 1] > v) {
        c[x] = c[x - 1];
        --x;
      }
      c[x] = v;
    }
    int runs = 0;
    for (int s = 0; s < m;) {
      int e = s + 1;
      while (e < m && c[e] == c[e - 1] + 1) ++e;
      run_c0[r][runs] = c[s];
      run_c1[r][runs] = c[e - 1];
      ++runs;
      s = e;
    }
    run_n[r] = runs;
  }
  __syncthreads();
  for (int r = 0; r < g.regions; ++r) {
    const RegionDev& reg = g.region[r];
    const int runs = run_n[r];
    if (runs == 0 || reg.band_count == nullptr) continue;
    const int64_t bands = reg.band_count[h];
    for (int64_t x = threadIdx.x; x < bands * runs; x += blockDim.x) {
      const int64_t band = x / runs;
      const int run = static_cast<int>(x % runs);
      const int64_t oa = reg.band_lo[h * reg.band_width + band], ob = reg.band_hi[h * reg.band_width + band];
      const int64_t k0 = max(reg.key_begin, run_c0[r][run] - ob);
      const int64_t k1 = min(reg.key_end, run_c1[r][run] - oa + 1);
      if (k0 >= k1) continue;
      for (int64_t kb = k0 / kB; kb <= (k1 - 1) / kB; ++kb) atomicOr(&bits[kb >> 5], 1u << (kb & 31));
    }
  }
  // The block's column lists, concatenated in key order.
  const int which = b <= g.text ? 0 : a >= g.text ? 2 : 1;
  const int l0 = g.seq[which][0], l1 = g.seq[which][1];
  const int32_t len0 = l0 >= 0 ? list_length(g.list[l0], h) : 0;
  const int32_t len1 = l1 >= 0 ? list_length(g.list[l1], h) : 0;
  const int64_t total = static_cast<int64_t>(len0) + len1;
  auto at = [&](int64_t j) -> int32_t {
    return j < len0 ? g.list[l0].ids[h * g.list[l0].width + j] : g.list[l1].ids[h * g.list[l1].width + (j - len0)];
  };
  // Columns that fill a whole key block become that block.
  for (int64_t j = threadIdx.x; j < total; j += blockDim.x) {
    const int32_t c = at(j);
    if (c % kB != 0) continue;
    const int64_t size = min(kB, g.n - c);
    if (j + size - 1 < total && at(j + size - 1) == c + size - 1) {
      atomicOr(&bits[(c / kB) >> 5], 1u << ((c / kB) & 31));
    }
  }
  __syncthreads();
  const int32_t limit = g.last_row[qb];
  const int64_t e = h * g.nb + qb;
  int64_t written = 0;
  for (int64_t base = 0; base < g.nb; base += blockDim.x) {
    const int64_t kb = base + threadIdx.x;
    const bool keep = kb < g.nb && ((bits[kb >> 5] >> (kb & 31)) & 1u) && g.first_key[kb] <= limit;
    int count = 0;
    const int pos = detail::block_prefix(keep, warp_sums, count);
    if (Fill && keep) block_ids[block_offsets[e] + written + pos] = static_cast<int32_t>(kb);
    written += count;
  }
  int64_t columns = 0;
  for (int64_t base = 0; base < total; base += blockDim.x) {
    const int64_t j = base + threadIdx.x;
    bool keep = false;
    int32_t c = 0;
    if (j < total) {
      c = at(j);
      const int64_t kb = c / kB;
      keep = !((bits[kb >> 5] >> (kb & 31)) & 1u) && (g.col_perm ? g.col_perm[c] : c) <= limit;
    }
    int count = 0;
    const int pos = detail::block_prefix(keep, warp_sums, count);
    if (Fill && keep) column_ids[column_offsets[e] + columns + pos] = c;
    columns += count;
  }
  if (!Fill && threadIdx.x == 0) {
    block_counts[e] = written;
    column_counts[e] = columns;
  }
}

struct Region {
  int64_t row_begin, row_end, key_begin, key_end;
  VerticalSlashBudget budget;
  int row_group, key_group;
};

struct RegionLists {
  DeviceBuffer<int32_t> verticals, band_lo, band_hi, band_count;
  int32_t vertical_width = 0, band_width = 0;
};

DeviceIndex regions_estimate(const AttentionShape& shape, const void* q, const void* k, const ModalityOrder& order,
                             bool permute_keys, const std::vector<Region>& regions, Stream stream_handle) {
  validate(shape);
  if (!q || !k) throw Error("boundary estimation: q and k must be device pointers");
  if (order.n() != shape.n) {
    throw Error("boundary estimation: the modality order covers " + std::to_string(order.n()) + " tokens, not " +
                std::to_string(shape.n));
  }
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const int64_t n = shape.n, nb = num_blocks(n), text = order.text_tokens(), m = 2 * n - 1;
  const int32_t heads = shape.heads_q;
  const bool moved = !order.identity();
  const int32_t* key_inverse = permute_keys && moved ? order.inverse() : nullptr;
  std::vector<RegionLists> lists(regions.size());
  const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kProbabilityBytes / (64 * sizeof(float) * n)));
  for (int group = 0; group < 2; ++group) {
    const std::vector<int32_t>& rows = group == 0 ? order.last_text_rows() : order.last_video_rows();
    if (rows.empty()) continue;
    bool used = false;
    for (const Region& r : regions) used |= r.row_group == group && r.key_end > r.key_begin;
    if (!used) continue;
    // The rows' key coordinates: their original positions when keys keep the original order, else kernel rows.
    const int64_t first = group == 0 ? text - static_cast<int64_t>(rows.size()) : n - static_cast<int64_t>(rows.size());
    std::vector<int32_t> padded(64, -1), coords(64, 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      padded[i] = rows[i];
      coords[i] = permute_keys && moved ? static_cast<int32_t>(first + static_cast<int64_t>(i)) : rows[i];
    }
    const int64_t row_end = *std::max_element(rows.begin(), rows.end()) + 1;
    const DeviceBuffer<int32_t> drows(padded, stream_handle), dcoords(coords, stream_handle);
    DeviceBuffer<float> column(static_cast<size_t>(heads) * n), diagonal(static_cast<size_t>(heads) * 2 * m);
    {
      DeviceBuffer<float> prob(static_cast<size_t>(std::min<int64_t>(chunk, heads)) * 64 * n);
      for (int32_t h0 = 0; h0 < heads; h0 += static_cast<int32_t>(chunk)) {
        const auto hc = static_cast<int32_t>(std::min<int64_t>(chunk, heads - h0));
        MMI_CUDA_CHECK(cudaMemsetAsync(prob.get(), 0, static_cast<size_t>(hc) * 64 * n * sizeof(float), stream));
        detail::rows_probabilities(shape, q, k, drows.get(), row_end, h0, hc, key_inverse, prob.get(), stream);
        group_mass<<<dim3(static_cast<unsigned>((m + 255) / 256), static_cast<unsigned>(hc)), 256, 0, stream>>>(
            prob.get(), n, dcoords.get(), static_cast<int32_t>(rows.size()), permute_keys ? text : n,
            column.get() + static_cast<int64_t>(h0) * n, diagonal.get() + static_cast<int64_t>(h0) * 2 * m);
        MMI_CUDA_CHECK_LAUNCH("group_mass");
      }
    }
    for (size_t ri = 0; ri < regions.size(); ++ri) {
      const Region& r = regions[ri];
      const int64_t width = r.key_end - r.key_begin;
      if (r.row_group != group || r.row_end <= r.row_begin || width <= 0) continue;
      RegionLists& out = lists[ri];
      const int64_t forced_columns = std::min(kForcedColumns, width);
      const int64_t kv = std::min(std::max(r.budget.vertical, forced_columns), width);
      out.vertical_width = static_cast<int32_t>(kv);
      out.verticals = detail::top_positions(column.get() + r.key_begin, heads, width, n, forced_columns, kv,
                                            out.vertical_width, static_cast<int32_t>(r.key_begin), stream);
      const int64_t ks = std::min(std::max(r.budget.slash, std::min(kForcedSlashes, n)), m);
      DeviceBuffer<float> ranked(static_cast<size_t>(heads) * m);
      rank_diagonals<<<1024, 256, 0, stream>>>(diagonal.get(), n, r.key_group, std::min(kForcedSlashes, n), heads,
                                               ranked.get());
      MMI_CUDA_CHECK_LAUNCH("rank_diagonals");
      const DeviceBuffer<int32_t> ranks =
          detail::top_positions(ranked.get(), heads, m, m, 0, ks, static_cast<int32_t>(ks), 0, stream);
      DeviceBuffer<int32_t> offsets(static_cast<size_t>(heads) * ks);
      out.band_width = static_cast<int32_t>(ks);
      out.band_lo = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * ks);
      out.band_hi = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * ks);
      out.band_count = DeviceBuffer<int32_t>(static_cast<size_t>(heads));
      ranks_to_bands<<<heads, 1024, 0, stream>>>(ranks.get(), static_cast<int32_t>(ks), offsets.get(),
                                                 out.band_lo.get(), out.band_hi.get(), out.band_count.get());
      MMI_CUDA_CHECK_LAUNCH("ranks_to_bands");
      MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
  }

  RegionsDev g{};
  g.n = n;
  g.nb = nb;
  g.text = text;
  g.heads = heads;
  g.regions = static_cast<int32_t>(regions.size());
  for (size_t ri = 0; ri < regions.size(); ++ri) {
    const Region& r = regions[ri];
    const RegionLists& l = lists[ri];
    g.region[ri] = {r.row_begin, r.row_end, r.key_begin, r.key_end, l.band_lo.get(), l.band_hi.get(),
                    l.band_count.size() ? l.band_count.get() : nullptr, l.band_width};
    g.list[ri] = {l.verticals.size() ? l.verticals.get() : nullptr, nullptr, l.vertical_width};
  }
  // Union lists of regions that share a key range, for the query block holding both row groups.
  std::vector<std::pair<DeviceBuffer<int32_t>, DeviceBuffer<int32_t>>> unions;
  auto unite = [&](int x, int y) -> int {
    const ListDev &lx = g.list[x], &ly = g.list[y];
    if (lx.ids == nullptr) return y;
    if (ly.ids == nullptr) return x;
    const int id = static_cast<int>(regions.size() + unions.size());
    unions.emplace_back(DeviceBuffer<int32_t>(static_cast<size_t>(heads) * (lx.width + ly.width)),
                        DeviceBuffer<int32_t>(static_cast<size_t>(heads)));
    merge_lists<<<heads, 1, 0, stream>>>(lx.ids, lx.width, lx.counts, ly.ids, ly.width, ly.counts,
                                         unions.back().first.get(), unions.back().second.get());
    MMI_CUDA_CHECK_LAUNCH("merge_lists");
    g.list[id] = {unions.back().first.get(), unions.back().second.get(), lx.width + ly.width};
    return id;
  };
  if (regions.size() == 2) {  // Q-boundary: text rows, video rows, both over all keys
    g.seq[0][0] = 0;
    g.seq[2][0] = 1;
    g.seq[1][0] = static_cast<int8_t>(unite(0, 1));
    g.seq[0][1] = g.seq[1][1] = g.seq[2][1] = -1;
  } else {  // 2D-boundary: text→text, text→video, video→text, video→video
    g.seq[0][0] = 0;
    g.seq[0][1] = 1;
    g.seq[2][0] = 2;
    g.seq[2][1] = 3;
    g.seq[1][0] = static_cast<int8_t>(unite(0, 2));
    g.seq[1][1] = static_cast<int8_t>(unite(1, 3));
  }
  g.row_perm = moved ? order.perm() : nullptr;
  g.col_perm = permute_keys && moved ? order.perm() : nullptr;
  g.coord_is_original = !permute_keys;
  DeviceBuffer<int32_t> last_row(static_cast<size_t>(nb)), first_key(static_cast<size_t>(nb));
  block_bounds<<<static_cast<unsigned>((nb + 255) / 256), 256, 0, stream>>>(n, g.row_perm, g.col_perm,
                                                                             last_row.get(), first_key.get());
  MMI_CUDA_CHECK_LAUNCH("block_bounds");
  g.last_row = last_row.get();
  g.first_key = first_key.get();

  DeviceIndex index(n, heads, stream_handle);
  const size_t smem = static_cast<size_t>((nb + 31) / 32) * sizeof(uint32_t);
  const dim3 grid(static_cast<unsigned>(nb), static_cast<unsigned>(heads));
  MMI_CUDA_CHECK(cudaFuncSetAttribute(regions_walk<false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(smem)));
  MMI_CUDA_CHECK(cudaFuncSetAttribute(regions_walk<true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(smem)));
  regions_walk<false><<<grid, kThreads, smem, stream>>>(g, index.block_offsets.get(), index.column_offsets.get(),
                                                         nullptr, nullptr, nullptr, nullptr);
  MMI_CUDA_CHECK_LAUNCH("regions_walk count");
  detail::counts_to_offsets(index, nb * heads, stream);
  regions_walk<true><<<grid, kThreads, smem, stream>>>(g, nullptr, nullptr, index.block_offsets.get(),
                                                        index.column_offsets.get(), index.block_ids.get(),
                                                        index.column_ids.get());
  MMI_CUDA_CHECK_LAUNCH("regions_walk fill");
  if (moved) {
    // Every head reads the one modality order (the kernel takes a permutation per head).
    index.row_perm = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * n);
    if (permute_keys) index.col_perm = DeviceBuffer<int32_t>(static_cast<size_t>(heads) * n);
    for (int32_t h = 0; h < heads; ++h) {
      MMI_CUDA_CHECK(cudaMemcpyAsync(index.row_perm.get() + static_cast<int64_t>(h) * n, order.perm(),
                                     static_cast<size_t>(n) * sizeof(int32_t), cudaMemcpyDeviceToDevice, stream));
      if (permute_keys) {
        MMI_CUDA_CHECK(cudaMemcpyAsync(index.col_perm.get() + static_cast<int64_t>(h) * n, order.perm(),
                                       static_cast<size_t>(n) * sizeof(int32_t), cudaMemcpyDeviceToDevice, stream));
      }
    }
  }
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return index;
}

}  // namespace

ModalityOrder::ModalityOrder(int64_t n, const std::vector<ModalitySpan>& spans, Stream stream) : n_(n) {
  if (n <= 0 || n > INT32_MAX - 2) throw Error("modality order: N out of range");
  std::vector<int32_t> perm;
  perm.reserve(static_cast<size_t>(n));
  int64_t next = 0;
  for (const ModalitySpan& s : spans) {
    if (s.start != next || s.length <= 0) throw Error("modality order: spans must cover [0, N) in order");
    next += s.length;
  }
  if (next != n) throw Error("modality order: spans cover " + std::to_string(next) + " tokens, not " + std::to_string(n));
  for (const bool video : {false, true}) {
    for (const ModalitySpan& s : spans) {
      if (s.video != video) continue;
      for (int64_t t = s.start; t < s.start + s.length; ++t) perm.push_back(static_cast<int32_t>(t));
    }
    if (!video) text_ = static_cast<int64_t>(perm.size());
  }
  std::vector<int32_t> inverse(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) {
    inverse[static_cast<size_t>(perm[static_cast<size_t>(p)])] = static_cast<int32_t>(p);
    identity_ = identity_ && perm[static_cast<size_t>(p)] == p;
  }
  last_text_.assign(perm.begin() + std::max<int64_t>(0, text_ - kEstimateRows), perm.begin() + text_);
  last_video_.assign(perm.begin() + std::max(text_, n - kEstimateRows), perm.end());
  perm_ = DeviceBuffer<int32_t>(perm, stream);
  inverse_ = DeviceBuffer<int32_t>(inverse, stream);
}

DeviceIndex estimate_q_boundary(const AttentionShape& shape, const void* q, const void* k, const ModalityOrder& order,
                                VerticalSlashBudget text_rows, VerticalSlashBudget video_rows, Stream stream) {
  const int64_t n = shape.n, t = order.text_tokens();
  return regions_estimate(shape, q, k, order, false,
                          {{0, t, 0, n, text_rows, 0, 0}, {t, n, 0, n, video_rows, 1, 0}}, stream);
}

DeviceIndex estimate_2d_boundary(const AttentionShape& shape, const void* q, const void* k, const ModalityOrder& order,
                                 const BoundaryBudgets& b, Stream stream) {
  const int64_t n = shape.n, t = order.text_tokens();
  return regions_estimate(shape, q, k, order, true,
                          {{0, t, 0, t, b.text_to_text, 0, 0},
                           {0, t, t, n, b.text_to_video, 0, 1},
                           {t, n, 0, t, b.video_to_text, 1, 0},
                           {t, n, t, n, b.video_to_video, 1, 1}},
                          stream);
}

}  // namespace mmi::cuda
