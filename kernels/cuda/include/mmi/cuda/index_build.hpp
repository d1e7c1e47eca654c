// Building a layer's sparse index on the GPU (docs/algorithm.md §2): vertical-slash lists to per-query-block key blocks
// and columns, for every head at once. The lists may come from the GPU estimator (estimate.hpp) or be given (the
// benchmark's fixed structure). The builder queues its work and copies on `stream` and returns once the stream has
// finished them (a non-blocking stream is fine).
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/runtime.hpp"

namespace mmi::cuda {

// Per head: `verticals` key positions and `slashes` row-minus-key offsets, each ascending and without duplicates,
// in rows of fixed width ([heads, vertical_count] and [heads, slash_count], device memory); entries equal to -1 pad
// a head's row at its end. For query block i (rows [64i, 64i+64)) a slash o covers keys [64i-o, 64i+63-o]: the
// union of those ranges becomes 64-aligned key blocks. A vertical inside a listed block is dropped; a key block
// whose 64 keys are all verticals becomes a block; the other verticals not after the block's last row become
// columns. Output order: blocks ascending, columns ascending.
DeviceIndex vertical_slash_index(int64_t n, int32_t heads, const int32_t* verticals, int32_t vertical_count,
                                 const int32_t* slashes, int32_t slash_count, Stream stream = nullptr);

}  // namespace mmi::cuda
