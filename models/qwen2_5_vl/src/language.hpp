// The Qwen2 decoder of Qwen2.5-VL: embeddings, decoder layers (q/k/v bias, GQA, M-RoPE, RMSNorm, SwiGLU),
// final norm and lm_head, over a growing KV cache. Pre-fill runs layer by layer with projections and MLP in
// row chunks, so activations stay bounded by the chunk size and the hidden state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/tensor_parallel.hpp"
#include "weights.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl {

// The key/value rows of every layer, one store per rank (rank r holds the kv heads it reads: RankSlice::kv_heads).
class KvCache {
 public:
  KvCache(const TextConfig& c, std::span<const runtime::RankSlice> ranks, std::int64_t capacity);
  void reserve(std::int64_t rows);  // keeps the cached rows
  std::int64_t length = 0;
  std::int64_t capacity() const { return capacity_; }
  // Floats per row of rank r's store: its kv heads · head_dim.
  std::int64_t row_size(std::size_t rank) const { return stores_[rank].row_size; }
  float* k(std::int64_t layer, std::size_t rank) { return stores_[rank].k[static_cast<std::size_t>(layer)].data(); }
  float* v(std::int64_t layer, std::size_t rank) { return stores_[rank].v[static_cast<std::size_t>(layer)].data(); }

 private:
  struct Store {
    std::int64_t row_size = 0;
    std::vector<std::vector<float>> k, v;
  };
  std::int64_t capacity_ = 0;
  std::vector<Store> stores_;
};

class LanguageModel {
 public:
  // ranks > 1 splits every layer over that many simulated ranks (runtime/tensor_parallel.hpp), run one after the
  // other on this process's threads: the split and merge a multi-GPU backend runs, checked against one rank.
  LanguageModel(const TextConfig& config, TextWeights weights, ops::ThreadPool* pool, std::int64_t token_chunk,
                std::int64_t ranks = 1);

  KvCache new_cache(std::int64_t capacity) const { return KvCache(c_, ranks_, capacity); }

  void embed(std::span<const std::int32_t> ids, float* out) const;

  // Runs x ([n, hidden], already embedded) through every layer at cache rows [cache.length, cache.length + n)
  // with the given positions (3 rows of n), appends to the cache and returns the logits of the last row.
  // trace (optional) receives every layer's output, the final norm and all logits; observer (optional) sees every
  // layer's q and k after its attention.
  std::vector<float> forward(std::vector<float>& x, std::span<const std::int64_t> positions, KvCache& cache,
                             const PrefillAttention* attention, const std::vector<Segment>* layout,
                             const RunControl& control, Stage stage, ForwardTrace* trace,
                             PrefillObserver* observer = nullptr) const;

  const TextConfig& config() const { return c_; }
  std::size_t ranks() const { return ranks_.size(); }

 private:
  const TextConfig& c_;
  TextWeights w_;
  ops::ThreadPool* pool_;
  std::int64_t chunk_;
  std::vector<runtime::RankSlice> ranks_;
};

// Raises Error(Cancelled) when the flag is set.
void check_cancel(const RunControl& control);

}  // namespace mmi::qwen2_5_vl
