// The sparse index: validation catches every malformed index, the renderer and density agree with brute force.
#include <random>
#include <string>

#include "check.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"

using namespace mmi::attention;
using mmi::SparseIndex;
using mmi::kBlock;

namespace {

// An index over n = 150 (3 query blocks): block 0 -> {0}; block 1 -> {0, 1} + column 130; block 2 -> {2} +
// columns 5, 70.
SparseIndex sample() {
  SparseIndex idx;
  idx.n = 150;
  idx.block_offsets = {0, 1, 3, 4};
  idx.block_ids = {0, 0, 1, 2};
  idx.column_offsets = {0, 0, 1, 3};
  idx.column_ids = {130, 5, 70};
  return idx;
}

bool mentions(const SparseIndex& idx, const std::string& part) {
  return index_problem(idx, idx.n).find(part) != std::string::npos;
}

}  // namespace

TEST(index_validation_accepts_good_and_names_bad) {
  CHECK(index_problem(sample(), 150).empty()) << index_problem(sample(), 150);
  CHECK(index_problem(full_index(1), 1).empty());
  CHECK(index_problem(full_index(129), 129).empty());
  CHECK(index_problem(sample(), 151).find("for 150 tokens") != std::string::npos);
  CHECK(!index_problem(sample(), 0).empty());
  SparseIndex bad = sample();
  bad.block_offsets.pop_back();
  CHECK(mentions(bad, "block offsets have 3 entries"));
  bad = sample();
  bad.block_offsets[0] = 1;
  CHECK(mentions(bad, "start at 0"));
  bad = sample();
  bad.block_offsets = {0, 2, 1, 4};
  CHECK(mentions(bad, "decrease"));
  bad = sample();
  bad.block_offsets.back() = 5;
  CHECK(mentions(bad, "but there are 4 ids"));
  bad = sample();
  bad.block_ids[1] = 3;
  CHECK(mentions(bad, "out of range"));
  bad = sample();
  bad.block_ids[2] = -1;
  CHECK(mentions(bad, "out of range"));
  bad = sample();
  bad.block_ids = {0, 1, 1, 2};
  CHECK(mentions(bad, "not strictly ascending"));
  bad = sample();
  bad.column_ids[2] = 150;
  CHECK(mentions(bad, "out of range"));
  bad = sample();
  bad.column_ids = {130, 70, 5};
  CHECK(mentions(bad, "not strictly ascending"));
  bad = sample();
  bad.column_ids[0] = 10;  // inside listed block 0 of query block 1
  CHECK(mentions(bad, "inside a listed block"));
  bad = sample();
  bad.row_perm = {1, 2};
  CHECK(mentions(bad, "row_perm has 2 entries"));
  bad = sample();
  bad.col_perm.assign(150, 0);
  CHECK(mentions(bad, "twice"));
  bad = sample();
  bad.row_perm.resize(150);
  for (int i = 0; i < 150; ++i) bad.row_perm[static_cast<size_t>(i)] = i;
  bad.row_perm[7] = 150;
  CHECK(mentions(bad, "out of range"));
  CHECK_THROWS_CODE(validate_index(bad, 150, "head 3"), ErrorCode::InvalidArgument);
}

TEST(render_mask_and_density_match_brute_force) {
  const SparseIndex idx = sample();
  const auto mask = render_mask(idx, true);
  int64_t kept = 0;
  for (int64_t r = 0; r < 150; ++r) {
    for (int64_t k = 0; k < 150; ++k) {
      const int64_t qb = r / kBlock, kb = k / kBlock;
      bool listed = false;
      if (qb == 0) listed = kb == 0;
      if (qb == 1) listed = kb <= 1 || k == 130;
      if (qb == 2) listed = kb == 2 || k == 5 || k == 70;
      const bool expect = listed && k <= r;
      CHECK(mask[static_cast<size_t>(r * 150 + k)] == expect) << "row " << r << " key " << k;
      kept += expect;
    }
  }
  const Density d = density(idx, true);
  CHECK(d.computed == kept && d.total == 150 * 151 / 2) << d.computed << " vs " << kept;
  const Density full = density(full_index(150), true);
  CHECK(full.computed == full.total && full.value() == 1.0);
  CHECK(density(full_index(150), false).value() == 1.0);
  const auto dense = render_mask(full_index(70), true);
  for (int64_t r = 0; r < 70; ++r) {
    for (int64_t k = 0; k < 70; ++k) CHECK(dense[static_cast<size_t>(r * 70 + k)] == (k <= r));
  }
}

TEST(render_mask_follows_permutations) {
  // A random permutation of rows and keys: row r (original) sits at kernel row inv[r]; it keeps kernel key c iff
  // c's block is listed for inv[r]'s block, and the original key col_perm[c] is not after r.
  const int64_t n = 100;
  std::mt19937_64 rng(4);
  SparseIndex idx = full_index(n);
  idx.block_offsets = {0, 1, 2};
  idx.block_ids = {1, 0};
  idx.row_perm.resize(n);
  idx.col_perm.resize(n);
  for (int64_t i = 0; i < n; ++i) idx.row_perm[static_cast<size_t>(i)] = idx.col_perm[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  std::shuffle(idx.row_perm.begin(), idx.row_perm.end(), rng);
  std::shuffle(idx.col_perm.begin(), idx.col_perm.end(), rng);
  CHECK(index_problem(idx, n).empty());
  const auto row_inv = inverse_permutation(idx.row_perm);
  const auto col_inv = inverse_permutation(idx.col_perm);
  const auto mask = render_mask(idx, true);
  int64_t kept = 0;
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t k = 0; k < n; ++k) {
      const int64_t qb = row_inv[static_cast<size_t>(r)] / kBlock, kb = col_inv[static_cast<size_t>(k)] / kBlock;
      const bool expect = kb == (qb == 0 ? 1 : 0) && k <= r;
      CHECK(mask[static_cast<size_t>(r * n + k)] == expect) << "row " << r << " key " << k;
      kept += expect;
    }
  }
  CHECK(density(idx, true).computed == kept);
}
