// Token permutations of the modality-aware patterns (docs/algorithm.md §5). A permutation is stored as in SparseIndex:
// perm[kernel position] = original token. Text tokens never move under the grid permutation; the modality
// permutation puts all text tokens first, then all video tokens, each in original order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/layout.hpp"
#include "mmi/attention/tensor.hpp"

namespace mmi::attention {

// A video run regrouped by a period `stride`: token start + f*stride + r (patch f, phase r) goes to
// start + (tokens of phases < r) + f, so every phase becomes one contiguous run of kernel positions. A partial last
// period is allowed: phases beyond it have one token fewer.
struct GridRun {
  int64_t start = 0;
  int64_t length = 0;
  int64_t stride = 1;
  int64_t phase_count(int64_t phase) const;   // tokens of one phase
  int64_t phase_offset(int64_t phase) const;  // kernel position of the phase's first token, relative to start
};

// Identity outside the runs. Runs must lie in [0, n), not overlap, and have 1 <= stride <= length.
std::vector<int32_t> grid_permutation(int64_t n, std::span<const GridRun> runs);
std::vector<int32_t> modality_permutation(const ModalityLayout& layout);

// out[h][i] = in[h][perm[i]] as fp32, [heads, n, dim] contiguous: materialises a permuted copy (tests, tools; the
// kernels read through the permutation instead).
std::vector<float> permute_rows(const HeadsView& in, std::span<const int32_t> perm);
// out[h][perm[i]] = permuted[h][i]: scatters kernel-order rows back to original positions.
void unpermute_rows(std::span<const float> permuted, std::span<const int32_t> perm, const OutputView& out);

}  // namespace mmi::attention
