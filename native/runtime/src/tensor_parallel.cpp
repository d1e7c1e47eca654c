#include "mmi/runtime/tensor_parallel.hpp"

#include <string>

#include "mmi/runtime/errors.hpp"

namespace mmi::runtime {

std::vector<RankSlice> plan_ranks(std::int64_t heads, std::int64_t kv_heads, std::int64_t intermediate,
                                  std::int64_t ranks) {
  const auto refuse = [&](const std::string& why) {
    throw Error(ErrorCode::InvalidInput, "", "ranks",
                std::to_string(ranks) + " ranks for " + std::to_string(heads) + " heads (" +
                    std::to_string(kv_heads) + " kv heads): " + why);
  };
  if (ranks < 1) refuse("at least one rank is needed");
  if (heads < 1 || kv_heads < 1 || heads % kv_heads != 0 || intermediate < 1) refuse("not a valid decoder shape");
  if (heads % ranks != 0) refuse("the query heads do not divide among the ranks");
  if (kv_heads % ranks != 0 && ranks % kv_heads != 0)
    refuse("neither do the kv heads divide among the ranks nor the ranks among the kv heads");
  if (ranks > intermediate) refuse("more ranks than MLP columns");
  const std::int64_t per_rank = heads / ranks, group = heads / kv_heads;
  std::vector<RankSlice> out(static_cast<std::size_t>(ranks));
  for (std::int64_t r = 0; r < ranks; ++r) {
    RankSlice& s = out[static_cast<std::size_t>(r)];
    s.q_heads = {r * per_rank, (r + 1) * per_rank};
    // The kv heads the rank's query heads read: their own when split, a shared one when replicated.
    s.kv_heads = {s.q_heads.begin / group, (s.q_heads.end + group - 1) / group};
    s.columns = {r * intermediate / ranks, (r + 1) * intermediate / ranks};
  }
  return out;
}

void reduce_add(std::span<const float* const> partials, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    float sum = 0.0f;
    for (const float* p : partials) sum += p[i];
    out[i] += sum;
  }
}

}  // namespace mmi::runtime
