#include "mmi/attention/permutation.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

int64_t GridRun::phase_count(int64_t phase) const {
  return length / stride + (phase < length % stride ? 1 : 0);
}

int64_t GridRun::phase_offset(int64_t phase) const {
  return phase * (length / stride) + std::min(phase, length % stride);
}

std::vector<int32_t> grid_permutation(int64_t n, std::span<const GridRun> runs) {
  require(n > 0 && n < (int64_t{1} << 31), "grid permutation: n must be in [1, 2^31), got " + std::to_string(n));
  std::vector<int32_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  int64_t previous_end = 0;
  std::vector<GridRun> sorted(runs.begin(), runs.end());
  std::sort(sorted.begin(), sorted.end(), [](const GridRun& a, const GridRun& b) { return a.start < b.start; });
  for (const GridRun& run : sorted) {
    require(run.start >= previous_end && run.length > 0 && run.start + run.length <= n,
            "grid permutation: run [" + std::to_string(run.start) + ", " + std::to_string(run.start + run.length) +
                ") is empty, overlaps another or leaves [0, " + std::to_string(n) + ")");
    require(run.stride >= 1 && run.stride <= run.length,
            "grid permutation: stride " + std::to_string(run.stride) + " must be in [1, " +
                std::to_string(run.length) + "]");
    previous_end = run.start + run.length;
    for (int64_t r = 0; r < run.stride; ++r) {
      const int64_t base = run.start + run.phase_offset(r);
      for (int64_t f = 0; f < run.phase_count(r); ++f) {
        perm[static_cast<size_t>(base + f)] = static_cast<int32_t>(run.start + f * run.stride + r);
      }
    }
  }
  return perm;
}

std::vector<int32_t> modality_permutation(const ModalityLayout& layout) {
  std::vector<int32_t> perm;
  perm.reserve(static_cast<size_t>(layout.n()));
  for (Modality m : {Modality::text, Modality::video}) {
    for (size_t s = 0; s < layout.segments().size(); ++s) {
      if (layout.segments()[s].modality != m) continue;
      for (int64_t t = layout.starts()[s]; t < layout.starts()[s + 1]; ++t) perm.push_back(static_cast<int32_t>(t));
    }
  }
  return perm;
}

std::vector<float> permute_rows(const HeadsView& in, std::span<const int32_t> perm) {
  require(static_cast<int64_t>(perm.size()) == in.n, "permute_rows: permutation has " + std::to_string(perm.size()) +
                                                        " entries for " + std::to_string(in.n) + " rows");
  std::vector<float> out(static_cast<size_t>(in.heads * in.n * in.dim));
  for (int64_t h = 0; h < in.heads; ++h) {
    for (int64_t i = 0; i < in.n; ++i) in.load_row(h, perm[static_cast<size_t>(i)], out.data() + (h * in.n + i) * in.dim);
  }
  return out;
}

void unpermute_rows(std::span<const float> permuted, std::span<const int32_t> perm, const OutputView& out) {
  require(static_cast<int64_t>(perm.size()) == out.n, "unpermute_rows: permutation has " +
                                                         std::to_string(perm.size()) + " entries for " +
                                                         std::to_string(out.n) + " rows");
  require(static_cast<int64_t>(permuted.size()) == out.heads * out.n * out.dim, "unpermute_rows: size mismatch");
  for (int64_t h = 0; h < out.heads; ++h) {
    for (int64_t i = 0; i < out.n; ++i) {
      const float* src = permuted.data() + (h * out.n + i) * out.dim;
      std::copy(src, src + out.dim, out.row(h, perm[static_cast<size_t>(i)]));
    }
  }
}

}  // namespace mmi::attention
