#include "sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace mmi::qwen2_5_vl {

std::int32_t sample_token(std::span<const float> logits, const DecodeOptions& options, std::mt19937_64& rng) {
  const auto greedy = [&] {
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  };
  if (options.temperature <= 0.0f) return greedy();

  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)];
  });
  std::size_t keep = order.size();
  if (options.top_k > 0) keep = std::min(keep, static_cast<std::size_t>(options.top_k));

  const double inv_t = 1.0 / options.temperature;
  const double top = logits[static_cast<std::size_t>(order[0])];
  std::vector<double> p(keep);
  double sum = 0.0;
  for (std::size_t i = 0; i < keep; ++i) {
    p[i] = std::exp((logits[static_cast<std::size_t>(order[i])] - top) * inv_t);
    sum += p[i];
  }
  // Nucleus: the smallest prefix whose probability reaches top_p (at least one token).
  if (options.top_p < 1.0f) {
    double acc = 0.0;
    std::size_t cut = 0;
    while (cut < keep) {
      acc += p[cut] / sum;
      ++cut;
      if (acc >= options.top_p) break;
    }
    keep = cut;
    sum = std::accumulate(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  }
  std::uniform_real_distribution<double> uniform(0.0, sum);
  double r = uniform(rng);
  for (std::size_t i = 0; i < keep; ++i) {
    r -= p[i];
    if (r < 0.0) return order[i];
  }
  return order[keep - 1];
}

}  // namespace mmi::qwen2_5_vl
