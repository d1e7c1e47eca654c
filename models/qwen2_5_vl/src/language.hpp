// The Qwen2 decoder of Qwen2.5-VL: embeddings, decoder layers (q/k/v bias, GQA, M-RoPE, RMSNorm, SwiGLU),
// final norm and lm_head, over a growing KV cache. Pre-fill runs layer by layer with projections and MLP in
// row chunks, so activations stay bounded by the chunk size and the hidden state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/qwen2_5_vl/engine.hpp"
#include "weights.hpp"

namespace mmi::ops {
class ThreadPool;
}

namespace mmi::qwen2_5_vl {

class KvCache {
 public:
  KvCache(const TextConfig& c, std::int64_t capacity);
  void reserve(std::int64_t rows);  // keeps the cached rows
  std::int64_t length = 0;
  std::int64_t row_size = 0;  // kv_heads · head_dim
  std::int64_t capacity() const { return capacity_; }
  float* k(std::int64_t layer) { return k_[static_cast<std::size_t>(layer)].data(); }
  float* v(std::int64_t layer) { return v_[static_cast<std::size_t>(layer)].data(); }

 private:
  std::int64_t capacity_ = 0;
  std::vector<std::vector<float>> k_, v_;
};

class LanguageModel {
 public:
  LanguageModel(const TextConfig& config, TextWeights weights, ops::ThreadPool* pool, std::int64_t token_chunk);

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

 private:
  const TextConfig& c_;
  TextWeights w_;
  ops::ThreadPool* pool_;
  std::int64_t chunk_;
};

// Raises Error(Cancelled) when the flag is set.
void check_cancel(const RunControl& control);

}  // namespace mmi::qwen2_5_vl
