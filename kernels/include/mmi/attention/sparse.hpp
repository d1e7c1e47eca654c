// Sparse attention over a SparseIndex (one per query head): each row attends exactly the keys its query block
// lists (blocks and single columns, read through the index's permutations), causal mask on original positions.
// The blocked online-softmax algorithm of the GPU kernel, in fp32; plus the float64 reference restricted to the
// same mask. A row that keeps no key outputs zeros.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::attention {

struct SparseOptions {
  bool causal = true;
  float scale = 0.0f;        // 0: 1/sqrt(dim)
  bool check_finite = true;
};

// Outputs are written at original row positions. Throws Error for bad shapes, an index count other than Hq, an
// index that fails validate_index, non-finite inputs; Error(Cancelled) when cancelled.
void sparse_attention(const HeadsView& q, const HeadsView& k, const HeadsView& v,
                      std::span<const SparseIndex> index, const OutputView& o, const SparseOptions& options = {},
                      const RunControl& control = {});

// Float64 attention of every original row over the original keys its mask keeps ([Hq, N, D] row-major).
std::vector<double> masked_reference_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v,
                                         std::span<const SparseIndex> index, const SparseOptions& options = {});

}  // namespace mmi::attention
