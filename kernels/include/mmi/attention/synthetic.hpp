// Synthetic Q/K/V with the structure of a video prompt, deterministic for a seed on every platform (own PRNG and
// Gaussian sampler): for tests now and GPU benchmarks later. Also inputs with planted attention structure, whose
// exact planted cells let tests measure how much of the planted mass an estimated index recovers.
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/layout.hpp"
#include "mmi/attention/tensor.hpp"

namespace mmi::attention {

// fp32 q [Hq, N, D], k/v [Hkv, N, D], contiguous.
struct QKV {
  int64_t heads_q = 0, heads_kv = 0, n = 0, dim = 0;
  std::vector<float> q, k, v;
  HeadsView qv() const { return contiguous(q.data(), heads_q, n, dim); }
  HeadsView kv() const { return contiguous(k.data(), heads_kv, n, dim); }
  HeadsView vv() const { return contiguous(v.data(), heads_kv, n, dim); }
};

// Video-like attention structure, per token: attention sinks (the first `sink_tokens` tokens), a local band over
// sequence positions, spatial locality within a temporal patch and temporal locality across patches (Gaussian
// kernels over (y, x) and t via random Fourier features, so the same spatial position in other patches draws
// attention: slashes every h*w tokens), a few salient tokens every query attends (verticals), and question tokens
// (the last text run) that look for a few "needle" video tokens. Query heads mix these in different proportions
// (h % 4: spatio-temporal, local, vertical, mixed). v is Gaussian. Head dim 64 to 256.
struct SyntheticSpec {
  ModalityLayout layout;
  int64_t heads_q = 4;
  int64_t heads_kv = 1;
  int64_t dim = 128;
  uint64_t seed = 1;
  int64_t sink_tokens = 4;
};
// Deterministic per seed whatever the thread count (every head draws from its own stream).
QKV synthetic_qkv(const SyntheticSpec& spec, const RunControl& control = {});
// The same into caller buffers: q [Hq, N, D], k and v [Hkv, N, D].
void synthetic_qkv_into(const SyntheticSpec& spec, float* q, float* k, float* v, const RunControl& control = {});

// A benchmark-style layout of n tokens: a system text run, one video run of t×h×w (h*w tokens per patch, as many
// patches as fit) and a question text run with what remains. Needs n >= 2.
ModalityLayout synthetic_video_layout(int64_t n, int64_t h = 16, int64_t w = 24, int64_t system_tokens = 64,
                                      int64_t question_tokens = 96);

// Inputs with planted structure and its cells: planted[r * n + k] = 1 where the construction boosts the logit
// (for k <= r). heads_q query heads over one kv head, dim >= 64.
struct Planted {
  QKV qkv;
  std::vector<uint8_t> planted;  // n×n, one for all heads
};
// Verticals at key `columns` (every later row attends them) and slashes at the given row-key `offsets`.
Planted planted_vertical_slash(int64_t n, int64_t heads_q, int64_t dim, const std::vector<int64_t>& columns,
                               const std::vector<int64_t>& offsets, uint64_t seed);
// For each video run of the layout: vertical lines on the keys of phase `phase` modulo `stride`, and, among the
// run's own tokens, slashes at every multiple of `stride` (the same position in other periods).
Planted planted_grid(const ModalityLayout& layout, int64_t heads_q, int64_t dim, int64_t stride, int64_t phase,
                     uint64_t seed);

}  // namespace mmi::attention
