#include "mmi/attention/dense.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "mmi/attention/error.hpp"
#include "reference.hpp"
#include "tile.hpp"

namespace mmi::attention {

void validate_segments(std::span<const int64_t> segments, int64_t n) {
  if (segments.empty()) return;
  require(segments.size() >= 2, "segments must hold at least two boundaries (0 and n)");
  require(segments.front() == 0, "segments must start at 0, got " + std::to_string(segments.front()));
  require(segments.back() == n,
          "segments must end at n = " + std::to_string(n) + ", got " + std::to_string(segments.back()));
  for (size_t i = 1; i < segments.size(); ++i) {
    require(segments[i] > segments[i - 1], "segments must be strictly ascending: boundary " + std::to_string(i) +
                                               " (" + std::to_string(segments[i]) + ") follows " +
                                               std::to_string(segments[i - 1]));
  }
}

namespace {

void validate_query_offset(int64_t offset, int64_t queries, int64_t keys) {
  require(offset >= 0 && offset + queries <= keys,
          "query_offset " + std::to_string(offset) + " + " + std::to_string(queries) + " queries exceeds the " +
              std::to_string(keys) + " keys");
}

// Segment id of every token, and each segment's first and one-past-last token.
struct SegmentMap {
  std::vector<int32_t> id;
  std::vector<int64_t> bounds;

  SegmentMap(std::span<const int64_t> segments, int64_t n) : id(static_cast<size_t>(n), 0) {
    if (segments.empty()) {
      bounds = {0, n};
      return;
    }
    bounds.assign(segments.begin(), segments.end());
    for (size_t s = 0; s + 1 < bounds.size(); ++s) {
      std::fill(id.begin() + bounds[s], id.begin() + bounds[s + 1], static_cast<int32_t>(s));
    }
  }
  int64_t begin_of(int64_t token) const { return bounds[static_cast<size_t>(id[static_cast<size_t>(token)])]; }
  int64_t end_of(int64_t token) const { return bounds[static_cast<size_t>(id[static_cast<size_t>(token)]) + 1]; }
};

}  // namespace

void dense_attention(const HeadsView& q, const HeadsView& k, const HeadsView& v, const OutputView& o,
                     const DenseOptions& options, const RunControl& control) {
  validate_qkv(q, k, v, &o, options.check_finite, true);
  validate_query_offset(options.query_offset, q.n, k.n);
  validate_segments(options.segments, k.n);
  const float scale = resolve_scale(options.scale, q.dim);
  const SegmentMap segs(options.segments, k.n);
  const int64_t n = q.n, nb = num_blocks(n), group = q.heads / k.heads, offset = options.query_offset;

  parallel_for(q.heads * nb, control, [&](int64_t unit) {
    const int64_t h = unit / nb, i = unit % nb;
    const int64_t r0 = i * kBlock, r1 = std::min(n, r0 + kBlock);
    int64_t tokens[kBlock];
    std::iota(tokens, tokens + (r1 - r0), r0);
    detail::QueryTile tile(q.dim);
    tile.load(q, h, tokens, segs.id.data(), r1 - r0, scale, offset);
    // Keys any row of the tile may see: from its first row's segment start to the last row (causal) or the last
    // row's segment end.
    const int64_t k0 = segs.begin_of(offset + r0);
    const int64_t k1 = options.causal ? offset + r1 : segs.end_of(offset + r1 - 1);
    detail::KeyTile keys(q.dim);
    for (int64_t c0 = k0; c0 < k1; c0 += kBlock) {
      const int64_t c1 = std::min(k1, c0 + kBlock);
      int64_t cols[kBlock];
      std::iota(cols, cols + (c1 - c0), c0);
      keys.load(k, v, h / group, cols, segs.id.data(), c1 - c0);
      tile.attend(keys, options.causal);
    }
    tile.store(o, h);
  });
}

std::vector<double> dense_reference_f64(const HeadsView& q, const HeadsView& k, const HeadsView& v,
                                        const DenseOptions& options) {
  validate_qkv(q, k, v, nullptr, options.check_finite, true);
  validate_query_offset(options.query_offset, q.n, k.n);
  validate_segments(options.segments, k.n);
  const double scale = resolve_scale(options.scale, q.dim);
  const SegmentMap segs(options.segments, k.n);
  const int64_t n = q.n, dim = q.dim, group = q.heads / k.heads;
  std::vector<double> out(static_cast<size_t>(q.heads * n * dim));
  std::vector<int64_t> keys;
  for (int64_t h = 0; h < q.heads; ++h) {
    for (int64_t r = 0; r < n; ++r) {
      const int64_t p = options.query_offset + r;
      keys.resize(static_cast<size_t>((options.causal ? p + 1 : segs.end_of(p)) - segs.begin_of(p)));
      std::iota(keys.begin(), keys.end(), segs.begin_of(p));
      detail::attend_f64(q, k, v, h, h / group, r, keys, scale, out.data() + (h * n + r) * dim);
    }
  }
  return out;
}

}  // namespace mmi::attention
