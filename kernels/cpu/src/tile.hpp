// The blocked online-softmax step shared by dense and sparse attention (FlashAttention's algorithm, fp32 state):
// a tile of up to 64 query rows meets tiles of up to 64 keys; each key tile updates every row's running max m,
// running sum l and accumulator. Rows and keys carry their original position (causality) and a segment id
// (block-diagonal attention), so one routine serves permuted sparse blocks and variable-length dense segments.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mmi/attention/tensor.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::attention::detail {

inline constexpr int64_t kTile = kBlock;

struct KeyTile {
  explicit KeyTile(int64_t dim) : dim(dim), kt(static_cast<size_t>(dim * kTile)), v(static_cast<size_t>(kTile * dim)) {}

  // Loads keys at original positions tokens[0..count) of kv head `head`: k transposed (dim × 64, zero-padded past
  // count, so the score loop always runs 64 wide), v row-major.
  void load(const HeadsView& k, const HeadsView& vv, int64_t head, const int64_t* tokens, const int32_t* segments,
            int64_t count) {
    cols = count;
    std::fill(kt.begin(), kt.end(), 0.0f);
    std::vector<float>& row = scratch;
    row.resize(static_cast<size_t>(dim));
    min_pos = std::numeric_limits<int64_t>::max();
    max_pos = std::numeric_limits<int64_t>::min();
    single_segment = true;
    for (int64_t j = 0; j < count; ++j) {
      pos[j] = tokens[j];
      seg[j] = segments ? segments[tokens[j]] : 0;
      single_segment = single_segment && seg[j] == seg[0];
      min_pos = std::min(min_pos, pos[j]);
      max_pos = std::max(max_pos, pos[j]);
      k.load_row(head, tokens[j], row.data());
      for (int64_t d = 0; d < dim; ++d) kt[static_cast<size_t>(d * kTile + j)] = row[static_cast<size_t>(d)];
      vv.load_row(head, tokens[j], v.data() + j * dim);
    }
  }

  int64_t dim;
  int64_t cols = 0;
  std::vector<float> kt, v, scratch;
  int64_t pos[kTile] = {};
  int32_t seg[kTile] = {};
  int64_t min_pos = 0, max_pos = 0;
  bool single_segment = true;
};

struct QueryTile {
  explicit QueryTile(int64_t dim)
      : dim(dim), q(static_cast<size_t>(kTile * dim)), acc(static_cast<size_t>(kTile * dim)) {}

  // Loads q rows tokens[0..count) of head `head`, pre-multiplied by the softmax scale. Row i sits at position
  // tokens[i] + offset (a chunk of queries after `offset` earlier tokens).
  void load(const HeadsView& qv, int64_t head, const int64_t* tokens, const int32_t* segments, int64_t count,
            float scale, int64_t offset = 0) {
    rows = count;
    std::fill(acc.begin(), acc.end(), 0.0f);
    min_pos = std::numeric_limits<int64_t>::max();
    max_pos = std::numeric_limits<int64_t>::min();
    single_segment = true;
    for (int64_t r = 0; r < count; ++r) {
      row[r] = tokens[r];
      pos[r] = tokens[r] + offset;
      seg[r] = segments ? segments[pos[r]] : 0;
      single_segment = single_segment && seg[r] == seg[0];
      min_pos = std::min(min_pos, pos[r]);
      max_pos = std::max(max_pos, pos[r]);
      float* qr = q.data() + r * dim;
      qv.load_row(head, tokens[r], qr);
      for (int64_t d = 0; d < dim; ++d) qr[d] *= scale;
      m[r] = -std::numeric_limits<float>::infinity();
      l[r] = 0.0f;
    }
  }

  // One online-softmax step against `keys`, with the causal and segment masks (tile.cpp).
  void attend(const KeyTile& keys, bool causal);

  // Writes acc / l to each row's output row; rows that kept no key get zeros.
  void store(const OutputView& o, int64_t head) const {
    for (int64_t r = 0; r < rows; ++r) {
      float* out = o.row(head, row[r]);
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      const float* ar = acc.data() + r * dim;
      for (int64_t d = 0; d < dim; ++d) out[d] = ar[d] * inv;
    }
  }

  int64_t dim;
  int64_t rows = 0;
  std::vector<float> q, acc;
  float m[kTile] = {}, l[kTile] = {};
  int64_t row[kTile] = {};  // q and output row
  int64_t pos[kTile] = {};  // position in the sequence (causality, segments)
  int32_t seg[kTile] = {};
  int64_t min_pos = 0, max_pos = 0;
  bool single_segment = true;
};

}  // namespace mmi::attention::detail
