#include "index_builder.hpp"

#include <algorithm>
#include <limits>

#include "mmi/attention/index.hpp"

namespace mmi::attention::detail {

IndexBuilder::IndexBuilder(int64_t n, std::vector<int32_t> row_perm, std::vector<int32_t> col_perm)
    : n_(n),
      nb_(num_blocks(n)),
      words_((num_blocks(n) + 63) / 64),
      row_perm_(std::move(row_perm)),
      col_perm_(std::move(col_perm)),
      bits_(static_cast<size_t>(nb_ * words_), 0),
      columns_(static_cast<size_t>(nb_)) {}

void IndexBuilder::add_range(int64_t qb, int64_t k0, int64_t k1) {
  k0 = std::max<int64_t>(k0, 0);
  k1 = std::min(k1, n_);
  if (k0 >= k1) return;
  uint64_t* row = bits_.data() + qb * words_;
  for (int64_t b = k0 / kBlock; b <= (k1 - 1) / kBlock; ++b) row[b / 64] |= uint64_t{1} << (b % 64);
}

void IndexBuilder::add_column(int64_t qb, int64_t key) {
  if (key >= 0 && key < n_) columns_[static_cast<size_t>(qb)].push_back(static_cast<int32_t>(key));
}

SparseIndex IndexBuilder::finish(bool causal) {
  // Latest original row of each query block, earliest original key of each key block.
  std::vector<int64_t> last_row(static_cast<size_t>(nb_), std::numeric_limits<int64_t>::min());
  std::vector<int64_t> first_key(static_cast<size_t>(nb_), std::numeric_limits<int64_t>::max());
  for (int64_t p = 0; p < n_; ++p) {
    auto& lr = last_row[static_cast<size_t>(p / kBlock)];
    lr = std::max(lr, through(row_perm_, p));
    auto& fk = first_key[static_cast<size_t>(p / kBlock)];
    fk = std::min(fk, through(col_perm_, p));
  }
  SparseIndex index;
  index.n = n_;
  index.block_offsets.push_back(0);
  index.column_offsets.push_back(0);
  for (int64_t i = 0; i < nb_; ++i) {
    uint64_t* row = bits_.data() + i * words_;
    auto& cols = columns_[static_cast<size_t>(i)];
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    // Promote column runs that fill a whole key block.
    for (size_t a = 0; a < cols.size();) {
      const int64_t b = cols[a] / kBlock;
      size_t e = a;
      while (e < cols.size() && cols[e] / kBlock == b) ++e;
      if (static_cast<int64_t>(e - a) == std::min(kBlock, n_ - b * kBlock)) row[b / 64] |= uint64_t{1} << (b % 64);
      a = e;
    }
    const int64_t limit = last_row[static_cast<size_t>(i)];
    for (int64_t b = 0; b < nb_; ++b) {
      if (!(row[b / 64] >> (b % 64) & 1)) continue;
      if (causal && first_key[static_cast<size_t>(b)] > limit) continue;
      index.block_ids.push_back(static_cast<int32_t>(b));
    }
    for (int32_t c : cols) {
      const int64_t b = c / kBlock;
      if (row[b / 64] >> (b % 64) & 1) continue;
      if (causal && through(col_perm_, c) > limit) continue;
      index.column_ids.push_back(c);
    }
    index.block_offsets.push_back(static_cast<int64_t>(index.block_ids.size()));
    index.column_offsets.push_back(static_cast<int64_t>(index.column_ids.size()));
    cols = {};
  }
  index.row_perm = row_perm_;
  index.col_perm = col_perm_;
  return index;
}

}  // namespace mmi::attention::detail
