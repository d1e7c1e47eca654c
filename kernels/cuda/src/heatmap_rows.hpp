// The device half of the GPU heatmaps (heatmap.cu, C++17 for nvcc): each sampled row's softmax pooled into G key
// bins on the GPU; heatmap.cpp averages the rows into the G×G grids of attention::Heatmap.
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/cuda/attention.hpp"

namespace mmi::cuda::detail {

// Per chosen head j and sampled row i, at [(j * rows + i) * grid + bin]: the row's softmax mass per key bin in
// original order and in the index's kernel order, its causal (row, key) pairs per bin and the pairs the index keeps;
// per (j, i): the mass inside the mask and the row's kernel position.
struct HeatmapRowSums {
  int64_t grid = 0;
  std::vector<float> mass, mass_permuted;
  std::vector<int32_t> pairs, pairs_permuted, kept, kept_permuted;
  std::vector<float> recall;
  std::vector<int32_t> kernel_row;
};

// q [Hq, n, D], k [Hkv, n, D] on the device (bf16 or f16, D in [1, 256]); index: all Hq heads. Throws Error.
HeatmapRowSums heatmap_row_sums(const AttentionShape& shape, const void* q, const void* k,
                                const DeviceIndexView& index, const std::vector<int64_t>& heads,
                                const std::vector<int64_t>& rows, int64_t grid, bool causal, Stream stream);

}  // namespace mmi::cuda::detail
