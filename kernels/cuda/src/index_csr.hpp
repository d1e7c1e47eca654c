// The CSR tail both GPU index builders share: per-(head, query block) counts, written into the index's offset
// arrays by a counting pass, become offsets, and the id arrays are allocated for the filling pass.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "mmi/cuda/attention.hpp"

namespace mmi::cuda::detail {

// index.block_offsets / column_offsets hold m counts (entry m is zeroed here): turns them into exclusive prefix
// sums with the totals at entry m and allocates block_ids / column_ids (at least one entry each).
void counts_to_offsets(DeviceIndex& index, int64_t m, cudaStream_t stream);

}  // namespace mmi::cuda::detail
