#include "reference.hpp"

#include <algorithm>
#include <cmath>

namespace mmi::attention::detail {

void softmax_f64(const HeadsView& q, const HeadsView& k, int64_t head, int64_t kv_head, int64_t row,
                 std::span<const int64_t> keys, double scale, std::vector<double>& w) {
  const int64_t dim = q.dim;
  std::vector<double> qr(static_cast<size_t>(dim));
  for (int64_t d = 0; d < dim; ++d) qr[static_cast<size_t>(d)] = q.at(head, row, d);
  w.resize(keys.size());
  double mx = -INFINITY;
  for (size_t j = 0; j < keys.size(); ++j) {
    double s = 0.0;
    for (int64_t d = 0; d < dim; ++d) s += qr[static_cast<size_t>(d)] * static_cast<double>(k.at(kv_head, keys[j], d));
    w[j] = s * scale;
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
