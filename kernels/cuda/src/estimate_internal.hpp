// Pieces of the GPU estimation that the pattern estimators in several sources share (estimate.cu defines them).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "mmi/cuda/attention.hpp"

namespace mmi::cuda::detail {

// Per head h, the top `budget` positions of scores[h * stride + i], i in [0, length), the first `forced` positions
// always (ties: lower position), written ascending plus `base` into rows of `width` (-1 padded).
DeviceBuffer<int32_t> top_positions(const float* scores, int64_t heads, int64_t length, int64_t stride, int64_t forced,
                                    int64_t budget, int32_t width, int32_t base, cudaStream_t stream);

// Causal softmax probabilities of 64 given rows (rows: device, original positions, -1 for none; all < row_end) of
// query heads [first_head, first_head + heads) over keys [0, row_end): prob[h][r][c] with c the key's position in
// the key order (key_inverse[key], or key when null) and row stride shape.n. Entries of keys >= row_end are not
// written. Returns once the stream has finished.
void rows_probabilities(const AttentionShape& shape, const void* q, const void* k, const int32_t* rows,
                        int64_t row_end, int32_t first_head, int32_t heads, const int32_t* key_inverse, float* prob,
                        cudaStream_t stream);

}  // namespace mmi::cuda::detail
