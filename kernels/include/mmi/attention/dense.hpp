// Dense attention on the CPU, in the two forms the engine needs:
//   - causal pre-fill of the language model (docs/algorithm.md §1);
//   - variable-length segments (like cu_seqlens) without the causal mask: block-diagonal attention, what the
//     Qwen2.5-VL vision tower's window and full-attention blocks compute per temporal patch (head dim 80).
// A row attends key k when both lie in the same segment and, if `causal`, k <= row. dense_attention is the blocked
// online-softmax algorithm the GPU kernels run (64×64 tiles, fp32 state); dense_reference_f64 is the plain float64
// formula the tests compare everything against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/tensor.hpp"

namespace mmi::attention {

struct DenseOptions {
  bool causal = true;
  // Segment boundaries: 0 = s[0] < s[1] < ... < s[m] = n (cu_seqlens). Empty: one segment of all n tokens.
  std::span<const int64_t> segments = {};
  float scale = 0.0f;      // softmax scale; 0: 1/sqrt(dim)
  bool check_finite = true;  // reject NaN/Inf inputs (one pass over q/k/v; off only when the caller checked)
  // q holds rows at positions [query_offset, query_offset + q.n) of the k/v sequence (a chunk of queries against a
  // longer cache); needs query_offset + q.n <= k.n. Segments are over the k/v sequence. o has q.n rows.
  int64_t query_offset = 0;
};

// o = softmax(scale · q kᵀ + mask) v per query head, fp32. Throws Error for bad shapes, segments or non-finite
// inputs (before writing o) and Error(Cancelled) when cancelled (o then partly written).
void dense_attention(const HeadsView& q, const HeadsView& k, const HeadsView& v, const OutputView& o,
                     const DenseOptions& options = {}, const RunControl& control = {});

// The same attention in float64, [Hq, N, D] row-major. For tests and small problems.
std::vector<double> dense_reference_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v,
                                        const DenseOptions& options = {});

// Throws Error(InvalidArgument) unless segments is empty or strictly ascending from 0 to n.
void validate_segments(std::span<const int64_t> segments, int64_t n);

}  // namespace mmi::attention
