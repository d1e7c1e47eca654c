#include "reference.hpp"

#include <algorithm>
#include <cmath>

namespace mmi::attention::detail {

void softmax_f64(const HeadsView& q, const HeadsView& k, int64_t head, int64_t kv_head, int64_t row,
                 std::span<const int64_t> keys, double scale, std::vector<double>& w) {
  const int64_t dim = q.dim;
  std::vector<float> qf(static_cast<size_t>(dim)), kf(static_cast<size_t>(dim));
  q.load_row(head, row, qf.data());
  w.resize(keys.size());
  double mx = -INFINITY;
  for (size_t j = 0; j < keys.size(); ++j) {
    k.load_row(kv_head, keys[j], kf.data());
    // Four partial sums: exact float64 products, summed in a fixed order (the result does not depend on the
    // compiler's vectorisation).
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t d = 0;
    for (; d + 4 <= dim; d += 4) {
      for (int64_t u = 0; u < 4; ++u) {
        s[u] += static_cast<double>(qf[static_cast<size_t>(d + u)]) * static_cast<double>(kf[static_cast<size_t>(d + u)]);
      }
    }
    for (; d < dim; ++d) s[0] += static_cast<double>(qf[static_cast<size_t>(d)]) * static_cast<double>(kf[static_cast<size_t>(d)]);
    w[j] = ((s[0] + s[1]) + (s[2] + s[3])) * scale;
    mx = std::max(mx, w[j]);
  }
  double sum = 0.0;
  for (double& x : w) sum += (x = std::exp(x - mx));
  for (double& x : w) x /= sum;
}

void attend_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v, int64_t head, int64_t kv_head,
                int64_t row, std::span<const int64_t> keys, double scale, double* out) {
  std::fill(out, out + q.dim, 0.0);
  if (keys.empty()) return;
  std::vector<double> w;
  softmax_f64(q, k, head, kv_head, row, keys, scale, w);
  for (size_t j = 0; j < keys.size(); ++j) {
    for (int64_t d = 0; d < q.dim; ++d) out[d] += w[j] * static_cast<double>(v.at(kv_head, keys[j], d));
  }
}

}  // namespace mmi::attention::detail
