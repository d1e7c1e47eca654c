#include "mmi/attention/index.hpp"

#include <algorithm>
#include <string>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

namespace {

std::string perm_problem(const std::vector<int32_t>& perm, int64_t n, const char* name) {
  if (perm.empty()) return {};
  if (static_cast<int64_t>(perm.size()) != n) {
    return std::string(name) + " has " + std::to_string(perm.size()) + " entries, expected " + std::to_string(n);
  }
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (size_t i = 0; i < perm.size(); ++i) {
    const int32_t p = perm[i];
    if (p < 0 || p >= n) return std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(p) + " is out of range";
    if (seen[static_cast<size_t>(p)]++) return std::string(name) + " lists token " + std::to_string(p) + " twice";
  }
  return {};
}

std::string csr_problem(const std::vector<int64_t>& offsets, const std::vector<int32_t>& ids, int64_t nb,
                        int64_t limit, const char* name) {
  if (static_cast<int64_t>(offsets.size()) != nb + 1) {
    return std::string(name) + " offsets have " + std::to_string(offsets.size()) + " entries, expected " +
           std::to_string(nb + 1);
  }
  if (offsets.front() != 0) return std::string(name) + " offsets must start at 0";
  if (offsets.back() != static_cast<int64_t>(ids.size())) {
    return std::string(name) + " offsets end at " + std::to_string(offsets.back()) + " but there are " +
           std::to_string(ids.size()) + " ids";
  }
  for (int64_t i = 0; i < nb; ++i) {
    if (offsets[static_cast<size_t>(i) + 1] < offsets[static_cast<size_t>(i)]) {
      return std::string(name) + " offsets decrease at query block " + std::to_string(i);
    }
  }
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t b = offsets[static_cast<size_t>(i)], e = offsets[static_cast<size_t>(i) + 1];
    for (int64_t j = b; j < e; ++j) {
      const int32_t id = ids[static_cast<size_t>(j)];
      if (id < 0 || id >= limit) {
        return std::string(name) + " id " + std::to_string(id) + " of query block " + std::to_string(i) +
               " is out of range [0, " + std::to_string(limit) + ")";
      }
      if (j > b && ids[static_cast<size_t>(j) - 1] >= id) {
        return std::string(name) + " ids of query block " + std::to_string(i) + " are not strictly ascending";
      }
    }
  }
  return {};
}

}  // namespace

std::string index_problem(const SparseIndex& index, int64_t n) {
  if (n <= 0) return "n must be positive, got " + std::to_string(n);
  if (n >= (int64_t{1} << 31)) return "n is above 2^31";
  if (index.n != n) return "index is for " + std::to_string(index.n) + " tokens, expected " + std::to_string(n);
  const int64_t nb = num_blocks(n);
  if (auto p = csr_problem(index.block_offsets, index.block_ids, nb, nb, "block"); !p.empty()) return p;
  if (auto p = csr_problem(index.column_offsets, index.column_ids, nb, n, "column"); !p.empty()) return p;
  for (int64_t i = 0; i < nb; ++i) {
    const auto bb = index.block_ids.begin() + index.block_offsets[static_cast<size_t>(i)];
    const auto be = index.block_ids.begin() + index.block_offsets[static_cast<size_t>(i) + 1];
    for (int64_t j = index.column_offsets[static_cast<size_t>(i)]; j < index.column_offsets[static_cast<size_t>(i) + 1]; ++j) {
      const int32_t c = index.column_ids[static_cast<size_t>(j)];
      if (std::binary_search(bb, be, static_cast<int32_t>(c / kBlock))) {
        return "column " + std::to_string(c) + " of query block " + std::to_string(i) + " lies inside a listed block";
      }
    }
  }
  if (auto p = perm_problem(index.row_perm, n, "row_perm"); !p.empty()) return p;
  return perm_problem(index.col_perm, n, "col_perm");
}

void validate_index(const SparseIndex& index, int64_t n, const std::string& what) {
  const std::string problem = index_problem(index, n);
  require(problem.empty(), what + ": " + problem);
}

SparseIndex full_index(int64_t n) {
  SparseIndex index;
  index.n = n;
  const int64_t nb = num_blocks(n);
  index.block_offsets.reserve(static_cast<size_t>(nb) + 1);
  index.block_offsets.push_back(0);
  for (int64_t i = 0; i < nb; ++i) {
    for (int64_t j = 0; j < nb; ++j) index.block_ids.push_back(static_cast<int32_t>(j));
    index.block_offsets.push_back(static_cast<int64_t>(index.block_ids.size()));
  }
  index.column_offsets.assign(static_cast<size_t>(nb) + 1, 0);
  return index;
}

std::vector<int32_t> inverse_permutation(std::span<const int32_t> perm) {
  std::vector<int32_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int32_t>(i);
  return inverse;
}

MaskRows::MaskRows(const SparseIndex& index, bool causal)
    : index_(index), causal_(causal), row_inverse_(inverse_permutation(index.row_perm)) {}

void MaskRows::keep(int64_t row, std::vector<uint8_t>& out) const {
  const int64_t n = index_.n;
  out.assign(static_cast<size_t>(n), 0);
  const int64_t kernel_row = row_inverse_.empty() ? row : row_inverse_[static_cast<size_t>(row)];
  const auto qb = static_cast<size_t>(kernel_row / kBlock);
  auto mark = [&](int64_t kernel_key) {
    const int64_t key = through(index_.col_perm, kernel_key);
    if (!causal_ || key <= row) out[static_cast<size_t>(key)] = 1;
  };
  for (int64_t j = index_.block_offsets[qb]; j < index_.block_offsets[qb + 1]; ++j) {
    const int64_t b = index_.block_ids[static_cast<size_t>(j)];
    for (int64_t c = b * kBlock; c < std::min(n, (b + 1) * kBlock); ++c) mark(c);
  }
  for (int64_t j = index_.column_offsets[qb]; j < index_.column_offsets[qb + 1]; ++j) {
    mark(index_.column_ids[static_cast<size_t>(j)]);
  }
}

std::vector<int64_t> MaskRows::keys(int64_t row) const {
  std::vector<uint8_t> kept;
  keep(row, kept);
  std::vector<int64_t> out;
  for (size_t k = 0; k < kept.size(); ++k) {
    if (kept[k]) out.push_back(static_cast<int64_t>(k));
  }
  return out;
}

std::vector<uint8_t> render_mask(const SparseIndex& index, bool causal) {
  const int64_t n = index.n;
  const MaskRows rows(index, causal);
  std::vector<uint8_t> mask(static_cast<size_t>(n * n));
  std::vector<uint8_t> kept;
  for (int64_t r = 0; r < n; ++r) {
    rows.keep(r, kept);
    std::copy(kept.begin(), kept.end(), mask.begin() + r * n);
  }
  return mask;
}

Density density(const SparseIndex& index, bool causal) {
  const int64_t n = index.n;
  const int64_t nb = num_blocks(n);
  Density d;
  d.total = causal ? n * (n + 1) / 2 : n * n;
  // Per query block: its rows' original positions sorted, so each key's count of rows at or after it is a search.
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < nb; ++i) {
    rows.clear();
    for (int64_t r = i * kBlock; r < std::min(n, (i + 1) * kBlock); ++r) rows.push_back(through(index.row_perm, r));
    std::sort(rows.begin(), rows.end());
    const auto qb = static_cast<size_t>(i);
    auto count_key = [&](int64_t kernel_key) {
      if (!causal) {
        d.computed += static_cast<int64_t>(rows.size());
        return;
      }
      const int64_t key = through(index.col_perm, kernel_key);
      d.computed += rows.end() - std::lower_bound(rows.begin(), rows.end(), key);
    };
    for (int64_t j = index.block_offsets[qb]; j < index.block_offsets[qb + 1]; ++j) {
      const int64_t b = index.block_ids[static_cast<size_t>(j)];
      for (int64_t c = b * kBlock; c < std::min(n, (b + 1) * kBlock); ++c) count_key(c);
    }
    for (int64_t j = index.column_offsets[qb]; j < index.column_offsets[qb + 1]; ++j) {
      count_key(index.column_ids[static_cast<size_t>(j)]);
    }
  }
  return d;
}

}  // namespace mmi::attention
