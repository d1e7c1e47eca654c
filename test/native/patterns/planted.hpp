// Synthetic calibration q/k with a known best pattern per head, built from the attention core's planted-structure
// generators: each layer holds one kv head (two query heads) per planted kind, and layers differ in seeds and in
// where the structure lies.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "mmi/attention/synthetic.hpp"
#include "mmi/patterns/search.hpp"

namespace planted {

using namespace mmi::attention;

enum class Kind { a_shape, vertical_slash, block_sparse, grid, dense };
inline constexpr Kind kKinds[] = {Kind::a_shape, Kind::vertical_slash, Kind::block_sparse, Kind::grid, Kind::dense};
inline constexpr std::int64_t kGroup = 2;  // query heads per kv head
inline constexpr std::int64_t kDim = 64;

inline const char* expected_pattern(Kind kind) {
  switch (kind) {
    case Kind::a_shape: return "a_shape";
    case Kind::vertical_slash: return "vertical_slash";
    case Kind::block_sparse: return "block_sparse";
    case Kind::grid: return "grid";
    case Kind::dense: return "dense";
  }
  return "";
}

// text 64, video 14 patches of 8×8 tokens (period 64), text 64: 1024 tokens.
inline ModalityLayout layout() {
  const Segment s[] = {Segment::text(64), Segment::video(14, 8, 8), Segment::text(64)};
  return ModalityLayout::make(s);
}

// Block-sparse structure, which the core has no generator for: the 64-token blocks fall into clusters, and rows
// attend the keys of their own cluster's blocks (a strong shared direction per cluster), on top of weak noise.
inline QKV clustered_blocks(std::int64_t n, std::int64_t heads_q, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  constexpr std::int64_t kClusters = 6;
  std::vector<std::int64_t> cluster(static_cast<std::size_t>((n + 63) / 64));
  for (auto& c : cluster) c = static_cast<std::int64_t>(rng() % kClusters);
  QKV out;
  out.heads_q = heads_q;
  out.heads_kv = 1;
  out.n = n;
  out.dim = kDim;
  out.q.resize(static_cast<std::size_t>(heads_q * n * kDim));
  out.k.resize(static_cast<std::size_t>(n * kDim));
  out.v.resize(out.k.size());
  for (auto& x : out.v) x = noise(rng);
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int64_t c = cluster[static_cast<std::size_t>(t / 64)];
    for (std::int64_t d = 0; d < kDim; ++d) out.k[static_cast<std::size_t>(t * kDim + d)] = noise(rng) + (d == c ? 3.0f : 0.0f);
    for (std::int64_t h = 0; h < heads_q; ++h) {
      for (std::int64_t d = 0; d < kDim; ++d) {
        out.q[static_cast<std::size_t>((h * n + t) * kDim + d)] = noise(rng) + (d == c ? 6.0f : 0.0f);
      }
    }
  }
  return out;
}

inline QKV make(Kind kind, const ModalityLayout& lay, int variant) {
  const std::int64_t n = lay.n();
  const auto seed = static_cast<std::uint64_t>(100 + 10 * variant + static_cast<int>(kind));
  switch (kind) {
    case Kind::a_shape: {
      std::vector<std::int64_t> band;
      for (std::int64_t o = 0; o < 24 + 8 * variant; ++o) band.push_back(o);
      return planted_vertical_slash(n, kGroup, kDim, {0, 1, 2, 3}, band, seed).qkv;
    }
    case Kind::vertical_slash: {
      // Scattered verticals: one gathered tile per query block for vertical-slash, a block each for the others.
      std::vector<std::int64_t> columns, offsets{0, 1, 2};
      for (std::int64_t c = 150 + 37 * variant; c < n; c += 97) columns.push_back(c);
      return planted_vertical_slash(n, kGroup, kDim, columns, offsets, seed).qkv;
    }
    case Kind::block_sparse: return clustered_blocks(n, kGroup, seed);
    case Kind::grid: return planted_grid(lay, kGroup, kDim, 64, 5 + 7 * variant, seed).qkv;
    case Kind::dense: {
      QKV out = planted_vertical_slash(n, kGroup, kDim, {}, {0}, seed).qkv;
      std::fill(out.q.begin(), out.q.end(), 0.0f);  // every key equally likely: no sparse pattern keeps much
      return out;
    }
  }
  return {};
}

// q [kinds·kGroup, n, d] and k [kinds, n, d] of one layer, kv head i holding kKinds[i].
struct Layer {
  std::vector<float> q, k;
};

inline Layer layer(const ModalityLayout& lay, int variant) {
  Layer out;
  for (Kind kind : kKinds) {
    const QKV part = make(kind, lay, variant);
    out.q.insert(out.q.end(), part.q.begin(), part.q.end());
    out.k.insert(out.k.end(), part.k.begin(), part.k.end());
  }
  return out;
}

inline mmi::patterns::ModelIdentity identity(std::int64_t layers) {
  const auto kinds = static_cast<std::int64_t>(std::size(kKinds));
  return {"synthetic", layers, kinds * kGroup, kinds, kDim, std::string(64, 'a')};
}

// One calibration prompt over `layers` (layer l is variant first_variant + l).
struct Prompt {
  std::vector<Layer> layers;
  mmi::patterns::QkPrompt prompt;
};

inline Prompt prompt(int layers, const std::string& name = "planted", int first_variant = 0) {
  Prompt p;
  const ModalityLayout lay = layout();
  const auto kinds = static_cast<std::int64_t>(std::size(kKinds));
  for (int l = 0; l < layers; ++l) p.layers.push_back(layer(lay, first_variant + l));
  p.prompt.name = name;
  p.prompt.layout = lay;
  for (const Layer& l : p.layers) {
    p.prompt.q.push_back(contiguous(l.q.data(), kinds * kGroup, lay.n(), kDim));
    p.prompt.k.push_back(contiguous(l.k.data(), kinds, lay.n(), kDim));
  }
  return p;
}

}  // namespace planted
