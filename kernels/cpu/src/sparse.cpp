#include "mmi/attention/sparse.hpp"

#include <algorithm>
#include <string>

#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "reference.hpp"
#include "tile.hpp"

namespace mmi::attention {

namespace {

void validate_indices(const HeadsView& q, std::span<const SparseIndex> index) {
  require(static_cast<int64_t>(index.size()) == q.heads, "expected one index per query head (" +
                                                             std::to_string(q.heads) + "), got " +
                                                             std::to_string(index.size()));
  for (size_t h = 0; h < index.size(); ++h) validate_index(index[h], q.n, "index of head " + std::to_string(h));
}

}  // namespace

void sparse_attention(const HeadsView& q, const HeadsView& k, const HeadsView& v, std::span<const SparseIndex> index,
                      const OutputView& o, const SparseOptions& options, const RunControl& control) {
  validate_qkv(q, k, v, &o, options.check_finite);
  validate_indices(q, index);
  const float scale = resolve_scale(options.scale, q.dim);
  const int64_t n = q.n, nb = num_blocks(n), group = q.heads / k.heads;

  parallel_for(q.heads * nb, control, [&](int64_t unit) {
    const int64_t h = unit / nb, i = unit % nb;
    const SparseIndex& idx = index[static_cast<size_t>(h)];
    const int64_t r0 = i * kBlock, r1 = std::min(n, r0 + kBlock);
    int64_t tokens[kBlock];
    for (int64_t r = r0; r < r1; ++r) tokens[r - r0] = through(idx.row_perm, r);
    detail::QueryTile tile(q.dim);
    tile.load(q, h, tokens, nullptr, r1 - r0, scale);
    detail::KeyTile keys(q.dim);
    const auto qb = static_cast<size_t>(i);
    for (int64_t j = idx.block_offsets[qb]; j < idx.block_offsets[qb + 1]; ++j) {
      const int64_t c0 = int64_t{idx.block_ids[static_cast<size_t>(j)]} * kBlock, c1 = std::min(n, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c) tokens[c - c0] = through(idx.col_perm, c);
      keys.load(k, v, h / group, tokens, nullptr, c1 - c0);
      tile.attend(keys, options.causal);
    }
    // Single columns, gathered 64 at a time.
    const int64_t cb = idx.column_offsets[qb], ce = idx.column_offsets[qb + 1];
    for (int64_t j0 = cb; j0 < ce; j0 += kBlock) {
      const int64_t count = std::min(kBlock, ce - j0);
      for (int64_t j = 0; j < count; ++j) tokens[j] = through(idx.col_perm, idx.column_ids[static_cast<size_t>(j0 + j)]);
      keys.load(k, v, h / group, tokens, nullptr, count);
      tile.attend(keys, options.causal);
    }
    tile.store(o, h);
  });
}

std::vector<double> masked_reference_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v,
                                         std::span<const SparseIndex> index, const SparseOptions& options) {
  validate_qkv(q, k, v, nullptr, options.check_finite);
  validate_indices(q, index);
  const double scale = resolve_scale(options.scale, q.dim);
  const int64_t n = q.n, dim = q.dim, group = q.heads / k.heads;
  std::vector<double> out(static_cast<size_t>(q.heads * n * dim));
  for (int64_t h = 0; h < q.heads; ++h) {
    const MaskRows mask(index[static_cast<size_t>(h)], options.causal);
    for (int64_t r = 0; r < n; ++r) {
      detail::attend_f64(q, k, v, h, h / group, r, mask.keys(r), scale, out.data() + (h * n + r) * dim);
    }
  }
  return out;
}

}  // namespace mmi::attention
