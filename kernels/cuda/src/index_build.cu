// Vertical-slash lists -> sparse index on the GPU. Per head, slashes whose offsets lie within 64 of each other are
// merged into runs first (their key ranges touch for every query block), and verticals are grouped by key block,
// so one thread per (head, query block) walks runs + groups instead of every slash and vertical. Two passes over
// the same walk: count, exclusive scan into CSR offsets, fill.
#include "mmi/cuda/index_build.hpp"

#include "index_csr.hpp"

#include <cuda_runtime.h>

#include <cub/device/device_scan.cuh>

#include <climits>

namespace mmi::cuda {
namespace {

constexpr int64_t kB = 64;

struct VsScratch {
  // Per head: slash runs [first offset, last offset] ascending; vertical groups (block, first index, count).
  int32_t* run_first;
  int32_t* run_last;
  int32_t* run_count;
  int32_t* group_block;
  int32_t* group_start;
  int32_t* group_size;
  int32_t* group_count;
};

__global__ void vs_prepare(const int32_t* verticals, int32_t vcount, const int32_t* slashes, int32_t scount,
                           VsScratch sc) {
  const int64_t h = blockIdx.x;
  if (threadIdx.x != 0) return;
  const int32_t* s = slashes + h * scount;
  int32_t runs = 0;
  for (int32_t j = 0; j < scount && s[j] >= 0; ++j) {
    if (runs > 0 && s[j] - sc.run_last[h * scount + runs - 1] <= kB) {
      sc.run_last[h * scount + runs - 1] = s[j];
    } else {
      sc.run_first[h * scount + runs] = s[j];
      sc.run_last[h * scount + runs] = s[j];
      ++runs;
    }
  }
  sc.run_count[h] = runs;
  const int32_t* v = verticals + h * vcount;
  int32_t groups = 0;
  for (int32_t j = 0; j < vcount && v[j] >= 0; ++j) {
    const int32_t b = static_cast<int32_t>(v[j] / kB);
    if (groups > 0 && sc.group_block[h * vcount + groups - 1] == b) {
      ++sc.group_size[h * vcount + groups - 1];
    } else {
      sc.group_block[h * vcount + groups] = b;
      sc.group_start[h * vcount + groups] = j;
      sc.group_size[h * vcount + groups] = 1;
      ++groups;
    }
  }
  sc.group_count[h] = groups;
}

// Walks query block i of head h; calls block(b) for key blocks ascending and column(k) for columns ascending.
template <typename BlockFn, typename ColumnFn>
__device__ void vs_walk(int64_t n, int64_t h, int64_t i, const int32_t* verticals, int32_t vcount, int32_t scount,
                        const VsScratch& sc, BlockFn&& block, ColumnFn&& column) {
  const int64_t a = i * kB;
  const int64_t last = min(a + kB - 1, n - 1);
  const int32_t* rf = sc.run_first + h * scount;
  const int32_t* rl = sc.run_last + h * scount;
  int32_t r = sc.run_count[h] - 1;
  while (r >= 0 && rf[r] > last) --r;  // runs wholly after this block's last row

  // Merged slash intervals in ascending block order (runs visited from the largest offset down).
  int64_t pend_lo = -1, pend_hi = -2;
  auto next_interval = [&](int64_t& lo, int64_t& hi) -> bool {
    while (r >= 0) {
      const int64_t o1 = rf[r], o2 = rl[r];
      --r;
      const int64_t nlo = max(static_cast<int64_t>(0), a - o2) / kB;
      const int64_t nhi = (last - o1) / kB;
      if (pend_hi < pend_lo) {
        pend_lo = nlo;
        pend_hi = nhi;
      } else if (nlo <= pend_hi + 1) {
        pend_hi = max(pend_hi, nhi);
      } else {
        lo = pend_lo;
        hi = pend_hi;
        pend_lo = nlo;
        pend_hi = nhi;
        return true;
      }
    }
    if (pend_hi >= pend_lo) {
      lo = pend_lo;
      hi = pend_hi;
      pend_lo = -1;
      pend_hi = -2;
      return true;
    }
    return false;
  };

  int64_t lo = 0, hi = -1;
  bool have = next_interval(lo, hi);
  const int32_t* v = verticals + h * vcount;
  const int32_t groups = sc.group_count[h];
  for (int32_t gi = 0; gi < groups; ++gi) {
    const int64_t b = sc.group_block[h * vcount + gi];
    if (b * kB > last) break;
    while (have && hi < b) {
      for (int64_t x = lo; x <= hi; ++x) block(x);
      have = next_interval(lo, hi);
    }
    if (have && lo <= b) continue;  // inside a slash interval
    const int32_t start = sc.group_start[h * vcount + gi];
    const int32_t size = sc.group_size[h * vcount + gi];
    if (size == kB) {
      block(b);
    } else {
      for (int32_t j = start; j < start + size && v[j] <= last; ++j) column(v[j]);
    }
  }
  while (have) {
    for (int64_t x = lo; x <= hi; ++x) block(x);
    have = next_interval(lo, hi);
  }
}

__global__ void vs_count(int64_t n, int32_t heads, const int32_t* verticals, int32_t vcount, int32_t scount,
                         VsScratch sc, int64_t* block_counts, int64_t* column_counts) {
  const int64_t nb = (n + kB - 1) / kB;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= nb * heads) return;
  const int64_t h = idx / nb, i = idx % nb;
  int64_t nbk = 0, ncol = 0;
  vs_walk(
      n, h, i, verticals, vcount, scount, sc, [&](int64_t) { ++nbk; }, [&](int64_t) { ++ncol; });
  block_counts[idx] = nbk;
  column_counts[idx] = ncol;
}

__global__ void vs_fill(int64_t n, int32_t heads, const int32_t* verticals, int32_t vcount, int32_t scount,
                        VsScratch sc, const int64_t* block_offsets, const int64_t* column_offsets, int32_t* block_ids,
                        int32_t* column_ids) {
  const int64_t nb = (n + kB - 1) / kB;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= nb * heads) return;
  const int64_t h = idx / nb, i = idx % nb;
  int32_t* bo = block_ids + block_offsets[idx];
  int32_t* co = column_ids + column_offsets[idx];
  vs_walk(
      n, h, i, verticals, vcount, scount, sc, [&](int64_t b) { *bo++ = static_cast<int32_t>(b); },
      [&](int64_t k) { *co++ = static_cast<int32_t>(k); });
}

void exclusive_scan(int64_t* counts, int64_t m, cudaStream_t stream) {
  size_t temp_bytes = 0;
  MMI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, temp_bytes, counts, counts, m + 1, stream));
  DeviceBuffer<uint8_t> temp(temp_bytes);
  MMI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp.get(), temp_bytes, counts, counts, m + 1, stream));
}

}  // namespace

namespace detail {

void counts_to_offsets(DeviceIndex& index, int64_t m, cudaStream_t stream) {
  MMI_CUDA_CHECK(cudaMemsetAsync(index.block_offsets.get() + m, 0, sizeof(int64_t), stream));
  MMI_CUDA_CHECK(cudaMemsetAsync(index.column_offsets.get() + m, 0, sizeof(int64_t), stream));
  exclusive_scan(index.block_offsets.get(), m, stream);
  exclusive_scan(index.column_offsets.get(), m, stream);
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  int64_t total_blocks = 0, total_columns = 0;
  copy_to_host(&total_blocks, index.block_offsets.get() + m, sizeof(int64_t), stream);
  copy_to_host(&total_columns, index.column_offsets.get() + m, sizeof(int64_t), stream);
  index.block_ids = DeviceBuffer<int32_t>(static_cast<size_t>(total_blocks > 0 ? total_blocks : 1));
  index.column_ids = DeviceBuffer<int32_t>(static_cast<size_t>(total_columns > 0 ? total_columns : 1));
}

}  // namespace detail

DeviceIndex vertical_slash_index(int64_t n, int32_t heads, const int32_t* verticals, int32_t vertical_count,
                                 const int32_t* slashes, int32_t slash_count, Stream stream_handle) {
  if (n <= 0 || n > INT32_MAX - 2) throw Error("vertical_slash_index: N out of range");
  if (heads <= 0) throw Error("vertical_slash_index: heads must be positive");
  if (vertical_count < 0 || slash_count < 0) throw Error("vertical_slash_index: negative list width");
  if ((vertical_count > 0 && !verticals) || (slash_count > 0 && !slashes)) {
    throw Error("vertical_slash_index: missing list");
  }
  auto* stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const int64_t nb = num_blocks(n);
  const int64_t m = nb * heads;
  const int32_t vc = vertical_count > 0 ? vertical_count : 1;
  const int32_t scn = slash_count > 0 ? slash_count : 1;
  DeviceBuffer<int32_t> run_first(static_cast<size_t>(heads) * scn), run_last(static_cast<size_t>(heads) * scn);
  DeviceBuffer<int32_t> run_count(heads), group_count(heads);
  DeviceBuffer<int32_t> group_block(static_cast<size_t>(heads) * vc), group_start(static_cast<size_t>(heads) * vc),
      group_size(static_cast<size_t>(heads) * vc);
  const VsScratch sc{run_first.get(),   run_last.get(),   run_count.get(), group_block.get(),
                     group_start.get(), group_size.get(), group_count.get()};
  // A zero-width list still needs a valid pointer for the kernels; they stop at the count.
  DeviceBuffer<int32_t> none(1);
  MMI_CUDA_CHECK(cudaMemsetAsync(none.get(), 0xff, sizeof(int32_t), stream));
  const int32_t* vlist = vertical_count > 0 ? verticals : none.get();
  const int32_t* slist = slash_count > 0 ? slashes : none.get();
  vs_prepare<<<heads, 32, 0, stream>>>(vlist, vertical_count > 0 ? vertical_count : 1, slist,
                                       slash_count > 0 ? slash_count : 1, sc);
  MMI_CUDA_CHECK_LAUNCH("vs_prepare");

  DeviceIndex index(n, heads, stream_handle);
  const int threads = 128;
  const auto grid = static_cast<unsigned>((m + threads - 1) / threads);
  vs_count<<<grid, threads, 0, stream>>>(n, heads, vlist, vc, scn, sc, index.block_offsets.get(),
                                         index.column_offsets.get());
  MMI_CUDA_CHECK_LAUNCH("vs_count");
  detail::counts_to_offsets(index, m, stream);
  vs_fill<<<grid, threads, 0, stream>>>(n, heads, vlist, vc, scn, sc, index.block_offsets.get(),
                                        index.column_offsets.get(), index.block_ids.get(), index.column_ids.get());
  MMI_CUDA_CHECK_LAUNCH("vs_fill");
  MMI_CUDA_CHECK(cudaStreamSynchronize(stream));
  return index;
}

}  // namespace mmi::cuda
