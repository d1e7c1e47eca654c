// Heatmaps of chosen heads on the GPU (docs/algorithm.md §7): the same G×G grids as the CPU core's attention::heatmaps
// (mmi/attention/heatmap.hpp), which is the reference. Each sampled query row's softmax is computed on the GPU (fp32
// logits from the bf16/f16 q and k) and pooled there into G key bins, in original and in the index's kernel order,
// with the row's causal pairs and the pairs the index keeps per bin; the host averages the rows of each row bin.
// Masks, sample counts and coverage equal the CPU's; mass and recall to fp32 rounding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/heatmap.hpp"
#include "mmi/cuda/attention.hpp"

namespace mmi::cuda {

// q [Hq, N, D] and k [Hkv, N, D] on the device (shape.dtype, D in [1, 256]); index covers all Hq heads. Rows are
// attention::sample_rows(N, options.samples). Throws Error (kind InvalidArgument for bad arguments, e.g. a grid whose
// bins do not fit in shared memory). Queued on `stream`; returns once it has finished.
std::vector<attention::Heatmap> heatmaps(const AttentionShape& shape, const void* q, const void* k,
                                         const DeviceIndexView& index, std::span<const int64_t> heads,
                                         const attention::HeatmapOptions& options, Stream stream = nullptr);

}  // namespace mmi::cuda
