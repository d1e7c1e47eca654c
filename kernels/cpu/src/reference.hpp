// Float64 attention of single rows, the formula every reference and every exact heatmap row uses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/tensor.hpp"

namespace mmi::attention::detail {

// w[j] = softmax_j(scale · q[head][row] · k[kv_head][keys[j]]) in float64; w is resized to keys.size().
void softmax_f64(const HeadsView& q, const HeadsView& k, int64_t head, int64_t kv_head, int64_t row,
                 std::span<const int64_t> keys, double scale, std::vector<double>& w);

// out[0..dim) = Σ_j softmax_j · v[kv_head][keys[j]]; zeros when keys is empty.
void attend_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v, int64_t head, int64_t kv_head,
                int64_t row, std::span<const int64_t> keys, double scale, double* out);

}  // namespace mmi::attention::detail
