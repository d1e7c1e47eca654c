// Tools over the sparse index of mmi/sparse_index.hpp: validation, the full (dense) index, rendering an index
// into the set of keys each original row attends to, and density. "Kernel order" is the order the kernel walks
// rows and keys (a permutation of the tokens); "original" is the prompt's order, where causality is decided.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mmi/sparse_index.hpp"

namespace mmi::attention {

// The first problem with `index` for n tokens, or an empty string: offsets sized num_blocks(n)+1, starting at 0,
// non-decreasing, ending at the id count; block ids in [0, num_blocks(n)) and column ids in [0, n), strictly
// ascending per query block; no column inside a listed block of the same query block; each permutation empty or a
// permutation of [0, n).
std::string index_problem(const SparseIndex& index, int64_t n);
// Throws Error(InvalidArgument) with index_problem's text, prefixed by `what`.
void validate_index(const SparseIndex& index, int64_t n, const std::string& what = "index");

// Every key block for every query block, identity order: with the causal mask, exactly dense attention.
SparseIndex full_index(int64_t n);

// inverse[perm[i]] = i. `perm` must be a permutation of [0, perm.size()).
std::vector<int32_t> inverse_permutation(std::span<const int32_t> perm);
// Identity when `perm` is empty.
inline int64_t through(std::span<const int32_t> perm, int64_t i) { return perm.empty() ? i : perm[i]; }

// Which original keys each original row attends to under an index. Construction inverts the row permutation once.
class MaskRows {
 public:
  MaskRows(const SparseIndex& index, bool causal);
  // Original key positions row `row` (original) keeps, ascending; with `causal`, only keys not after the row.
  std::vector<int64_t> keys(int64_t row) const;
  // keys(row) as a 0/1 vector of length n (to test membership of many keys).
  void keep(int64_t row, std::vector<uint8_t>& out) const;

 private:
  const SparseIndex& index_;
  bool causal_;
  std::vector<int32_t> row_inverse_;
};

// The whole mask as n×n bytes in original coordinates (row-major: mask[r*n + k]). For tests and small n only.
std::vector<uint8_t> render_mask(const SparseIndex& index, bool causal);

struct Density {
  int64_t computed = 0;  // (row, key) pairs the index keeps, causal mask applied
  int64_t total = 0;     // pairs of dense attention: n(n+1)/2 causal, n^2 otherwise
  double value() const { return total > 0 ? static_cast<double>(computed) / static_cast<double>(total) : 0.0; }
};
Density density(const SparseIndex& index, bool causal = true);

}  // namespace mmi::attention
