#include "tile.hpp"

// The score and accumulation loops run 64 keys / D dims wide: compiled twice, for AVX2 machines and the x86-64
// baseline, picked at load time (the loops are element-wise, so both clones round alike).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MMI_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MMI_CLONES
#endif

namespace mmi::attention::detail {

MMI_CLONES void QueryTile::attend(const KeyTile& keys, bool causal) {
  if (keys.cols == 0) return;
  if (causal && keys.min_pos > max_pos) return;  // every key is after every row
  const bool whole = (!causal || keys.max_pos <= min_pos) && single_segment && keys.single_segment &&
                     seg[0] == keys.seg[0];
  float s[kTile];
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(s, s + kTile, 0.0f);
    const float* qr = q.data() + r * dim;
    for (int64_t d = 0; d < dim; ++d) {
      const float qd = qr[d];
      const float* kd = keys.kt.data() + d * kTile;
      for (int64_t j = 0; j < kTile; ++j) s[j] += qd * kd[j];
    }
    float row_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < keys.cols; ++j) {
      const bool keep = whole || ((!causal || keys.pos[j] <= pos[r]) && keys.seg[j] == seg[r]);
      if (!keep) s[j] = -std::numeric_limits<float>::infinity();
      row_max = std::max(row_max, s[j]);
    }
    if (row_max == -std::numeric_limits<float>::infinity()) continue;  // nothing this row may see here
    const float m_new = std::max(m[r], row_max);
    const float alpha = std::exp(m[r] - m_new);  // 0 on the row's first keys (m = -inf)
    float sum = 0.0f;
    for (int64_t j = 0; j < keys.cols; ++j) {
      s[j] = std::exp(s[j] - m_new);
      sum += s[j];
    }
    l[r] = l[r] * alpha + sum;
    m[r] = m_new;
    float* ar = acc.data() + r * dim;
    for (int64_t d = 0; d < dim; ++d) ar[d] *= alpha;
    for (int64_t j = 0; j < keys.cols; ++j) {
      const float p = s[j];
      if (p == 0.0f) continue;
      const float* vj = keys.v.data() + j * dim;
      for (int64_t d = 0; d < dim; ++d) ar[d] += p * vj[d];
    }
  }
}

}  // namespace mmi::attention::detail
