// Permutations: the grid permutation is a bijection that makes every phase of a video run contiguous and leaves
// text in place; permuting rows and scattering them back is exact; the modality permutation groups text first.
#include <numeric>
#include <random>

#include "check.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/permutation.hpp"
#include "support.hpp"

using namespace mmi::attention;

namespace {

bool is_permutation_of_range(const std::vector<int32_t>& p) {
  std::vector<int32_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int32_t>(i)) return false;
  }
  return true;
}

}  // namespace

TEST(grid_permutation_groups_phases) {
  for (int64_t length : {60, 61, 67, 7}) {
    for (int64_t stride : {1, 5, 7, 12}) {
      if (stride > length) continue;
      const int64_t start = 9, n = start + length + 4;
      const GridRun run{start, length, stride};
      const std::vector<int32_t> perm = grid_permutation(n, std::span(&run, 1));
      CHECK(is_permutation_of_range(perm)) << "length " << length << " stride " << stride;
      for (int64_t i = 0; i < start; ++i) CHECK(perm[static_cast<size_t>(i)] == i) << "text before moved";
      for (int64_t i = start + length; i < n; ++i) CHECK(perm[static_cast<size_t>(i)] == i) << "text after moved";
      int64_t total = 0;
      for (int64_t r = 0; r < stride; ++r) {
        // Phase r occupies [start + offset, start + offset + count), in patch order.
        const int64_t off = run.phase_offset(r), count = run.phase_count(r);
        CHECK(off == total) << "phase offsets are not cumulative";
        total += count;
        for (int64_t f = 0; f < count; ++f) {
          CHECK(perm[static_cast<size_t>(start + off + f)] == start + f * stride + r)
              << "length " << length << " stride " << stride << " phase " << r << " patch " << f;
        }
      }
      CHECK(total == length);
    }
  }
}

TEST(permute_and_unpermute_round_trip_exactly) {
  std::mt19937_64 rng(5);
  const int64_t n = 170, dim = 80;
  const Segment segments[] = {Segment::text(11), Segment::video(4, 3, 9), Segment::text(5), Segment::video(2, 4, 4),
                              Segment::text(n - 11 - 108 - 5 - 32)};
  const ModalityLayout lay = ModalityLayout::make(segments, n);
  const GridRun runs[] = {{11, 108, 27}, {124, 32, 16}};
  for (DType dtype : {DType::f32, DType::bf16, DType::f16}) {
    const auto x = support::random_operand(dtype, 3, n, dim, rng);
    for (const std::vector<int32_t>& perm : {grid_permutation(n, runs), modality_permutation(lay)}) {
      const std::vector<float> permuted = permute_rows(x.view(), perm);
      for (int64_t h = 0; h < 3; ++h) {
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t d = 0; d < dim; ++d) {
            CHECK(permuted[static_cast<size_t>((h * n + i) * dim + d)] == x.view().at(h, perm[static_cast<size_t>(i)], d));
          }
        }
      }
      std::vector<float> back(static_cast<size_t>(3 * n * dim), -1.0f);
      unpermute_rows(permuted, perm, OutputView{back.data(), 3, n, dim, 0, 0});
      bool exact = true;
      for (int64_t h = 0; h < 3; ++h) {
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t d = 0; d < dim; ++d) exact = exact && back[static_cast<size_t>((h * n + i) * dim + d)] == x.view().at(h, i, d);
        }
      }
      CHECK(exact) << dtype_name(dtype) << ": round trip is not exact";
      const auto inv = inverse_permutation(perm);
      for (int64_t i = 0; i < n; ++i) CHECK(inv[static_cast<size_t>(perm[static_cast<size_t>(i)])] == i);
    }
  }
}

TEST(modality_permutation_puts_text_first) {
  const Segment segments[] = {Segment::video(1, 2, 3), Segment::text(4), Segment::video(1, 1, 2), Segment::text(1)};
  const auto perm = modality_permutation(ModalityLayout::make(segments));
  CHECK((perm == std::vector<int32_t>{6, 7, 8, 9, 12, 0, 1, 2, 3, 4, 5, 10, 11}));
}

TEST(grid_permutation_rejects_bad_runs) {
  auto bad = [](std::vector<GridRun> runs, int64_t n) { return grid_permutation(n, runs); };
  CHECK_THROWS_CODE(bad({{0, 10, 0}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({{0, 10, 11}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({{5, 10, 2}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({{0, 6, 2}, {4, 4, 2}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({{-1, 4, 2}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({{0, 0, 1}}, 10), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(bad({}, 0), ErrorCode::InvalidArgument);
  CHECK(bad({{4, 6, 2}, {0, 4, 4}}, 10).size() == 10) << "runs may come in any order";
}
