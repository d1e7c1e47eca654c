// Accumulates one head's index in kernel coordinates, query block by query block, then emits a valid SparseIndex:
// key blocks from marked ranges, single columns outside them (a column set that fills a whole block becomes the
// block), and nothing wholly in the future of the query block (causality on original positions).
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/sparse_index.hpp"

namespace mmi::attention::detail {

class IndexBuilder {
 public:
  // Empty permutations mean identity.
  IndexBuilder(int64_t n, std::vector<int32_t> row_perm, std::vector<int32_t> col_perm);

  int64_t n() const { return n_; }
  int64_t blocks() const { return nb_; }
  const std::vector<int32_t>& row_perm() const { return row_perm_; }
  const std::vector<int32_t>& col_perm() const { return col_perm_; }

  // Every key block that meets kernel keys [k0, k1) (clipped to [0, n)), for query block qb.
  void add_range(int64_t qb, int64_t k0, int64_t k1);
  void add_column(int64_t qb, int64_t key);

  SparseIndex finish(bool causal = true);

 private:
  int64_t n_, nb_, words_;
  std::vector<int32_t> row_perm_, col_perm_;
  std::vector<uint64_t> bits_;  // nb_ rows of words_ words: key block j of query block i
  std::vector<std::vector<int32_t>> columns_;
};

}  // namespace mmi::attention::detail
