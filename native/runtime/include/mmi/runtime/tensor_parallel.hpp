// Tensor parallelism over ranks (GPUs, or simulated ranks on the CPU): how a decoder layer's work is split and
// where it is merged. Each rank owns a contiguous range of query heads, the key/value heads those read (split when
// the kv heads divide among the ranks, replicated when the ranks divide among the kv heads), and a contiguous range
// of the MLP's intermediate columns. A rank computes its heads' q/k/v and attention, its share of the output
// projection, its MLP columns and their share of the down projection; the two partial outputs of a layer are
// summed over the ranks (the all-reduce) before the residual add. Model-neutral: a family maps its weights onto
// these ranges. See docs/architecture.md, "Several GPUs".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mmi::runtime {

struct Range {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};

struct RankSlice {
  Range q_heads;   // query heads [begin, end)
  Range kv_heads;  // the key/value heads they read
  Range columns;   // MLP intermediate columns
};

// The split over `ranks` ranks. Error(InvalidInput) when it cannot be made evenly: the query heads must divide
// among the ranks, and either the kv heads among the ranks or the ranks among the kv heads.
std::vector<RankSlice> plan_ranks(std::int64_t heads, std::int64_t kv_heads, std::int64_t intermediate,
                                  std::int64_t ranks);

// The all-reduce of one partial output per rank: out[i] += Σ_r partials[r][i], summed in rank order (as a
// ring all-reduce of a fixed rank order would), so the result does not depend on which rank finished first.
void reduce_add(std::span<const float* const> partials, std::int64_t n, float* out);

}  // namespace mmi::runtime
