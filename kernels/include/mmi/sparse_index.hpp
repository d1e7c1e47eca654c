// The one input every sparse pattern reduces to (docs/algorithm.md §2), shared by the CPU reference and the CUDA
// kernels. For one head: per query block of 64 rows, a sorted list of 64-wide key blocks and a sorted list of
// single key columns, never overlapping. Rows and keys are counted in the kernel's order, which may be a
// permutation of the original token order; causality is always decided on original positions.
#pragma once

#include <cstdint>
#include <vector>

namespace mmi {

inline constexpr int64_t kBlock = 64;  // BM = BN = 64: the granularity of the index, not of the kernel's tiles

inline constexpr int64_t num_blocks(int64_t n) { return (n + kBlock - 1) / kBlock; }

// CSR over query blocks. block_ids/column_ids hold int32: 2^31 tokens is far beyond any prompt we run, and
// halving the index's size matters for the GPU's index loads.
struct SparseIndex {
  int64_t n = 0;                       // tokens (rows and keys)
  std::vector<int64_t> block_offsets;  // num_blocks(n) + 1 entries into block_ids
  std::vector<int32_t> block_ids;      // key block numbers, ascending within a query block
  std::vector<int64_t> column_offsets; // num_blocks(n) + 1 entries into column_ids
  std::vector<int32_t> column_ids;     // key positions, ascending, none inside a listed block of the same row
  // Position in kernel order -> original token position. Empty means identity. row_perm orders the queries,
  // col_perm the keys (grid: both the same; Q-boundary: rows only; 2D-boundary: both).
  std::vector<int32_t> row_perm;
  std::vector<int32_t> col_perm;
};

}  // namespace mmi
