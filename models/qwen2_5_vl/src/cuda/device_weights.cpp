#include "device_weights.hpp"

#include <cstring>

#include "mmi/ops/half.hpp"

namespace mmi::qwen2_5_vl::gpu {

namespace rc = runtime::cuda;

namespace {

using runtime::cuda::Arena;

// Walks the weights in one fixed order, either counting bytes or uploading; the two passes cannot disagree.
class Uploader {
 public:
  Uploader(char* base, cudaStream_t stream) : base_(base), stream_(stream) {}

  // Rows of several matrices with the same column count, stacked into one bf16 matrix.
  const bf16* matrices(std::initializer_list<const ops::MatrixView*> parts) {
    std::int64_t rows = 0;
    const std::int64_t cols = (*parts.begin())->cols;
    for (const auto* m : parts) rows += m->rows;
    auto* dst = static_cast<bf16*>(take(static_cast<std::size_t>(rows * cols) * sizeof(bf16)));
    if (base_ == nullptr) return dst;
    char* out = reinterpret_cast<char*>(dst);
    for (const auto* m : parts) {
      const std::size_t count = static_cast<std::size_t>(m->rows * m->cols);
      if (m->type == ops::ElemType::BF16) {
        rc::copy_to_device(out, m->data, count * sizeof(bf16), stream_);
      } else {
        staging_.resize(count);
        row_.resize(static_cast<std::size_t>(m->cols));
        for (std::int64_t r = 0; r < m->rows; ++r) {
          ops::load_row(*m, r, 0, m->cols, row_.data());
          for (std::int64_t c = 0; c < m->cols; ++c) {
            staging_[static_cast<std::size_t>(r * m->cols + c)] = ops::f32_to_bf16(row_[static_cast<std::size_t>(c)]);
          }
        }
        rc::copy_to_device(out, staging_.data(), count * sizeof(std::uint16_t), stream_);
      }
      out += count * sizeof(bf16);
    }
    return dst;
  }

  // Vectors concatenated in fp32; null when all are empty (no bias).
  const float* vectors(std::initializer_list<const std::vector<float>*> parts) {
    std::size_t count = 0;
    for (const auto* v : parts) count += v->size();
    if (count == 0) return nullptr;
    auto* dst = static_cast<float*>(take(count * sizeof(float)));
    if (base_ == nullptr) return dst;
    std::size_t at = 0;
    for (const auto* v : parts) {
      rc::copy_to_device(dst + at, v->data(), v->size() * sizeof(float), stream_);
      at += v->size();
    }
    return dst;
  }

  DLinear linear(const Linear& l) { return {matrices({&l.w}), vectors({&l.b}), l.w.rows, l.w.cols}; }
  DLinear fused(const Linear& a, const Linear& b) {
    return {matrices({&a.w, &b.w}), vectors({&a.b, &b.b}), a.w.rows + b.w.rows, a.w.cols};
  }
  DLinear fused(const Linear& a, const Linear& b, const Linear& c) {
    return {matrices({&a.w, &b.w, &c.w}), vectors({&a.b, &b.b, &c.b}), a.w.rows + b.w.rows + c.w.rows, a.w.cols};
  }

  std::size_t used() const { return used_; }

 private:
  void* take(std::size_t bytes) {
    void* p = base_ ? base_ + used_ : nullptr;
    used_ += Arena::aligned(bytes);
    return p;
  }

  char* base_;
  cudaStream_t stream_;
  std::size_t used_ = 0;
  std::vector<std::uint16_t> staging_;
  std::vector<float> row_;
};

void walk(Uploader& u, const VisionWeights& vision, const TextWeights& text, DeviceWeights& d) {
  d.patch_embed = {u.matrices({&vision.patch_embed}), nullptr, vision.patch_embed.rows, vision.patch_embed.cols};
  d.vision.clear();
  for (const auto& b : vision.blocks) {
    DVisionBlock db;
    db.norm1 = u.vectors({&b.norm1});
    db.norm2 = u.vectors({&b.norm2});
    db.qkv = u.linear(b.qkv);
    db.proj = u.linear(b.proj);
    db.gate_up = u.fused(b.gate, b.up);
    db.down = u.linear(b.down);
    d.vision.push_back(db);
  }
  d.merger_norm = u.vectors({&vision.merger_norm});
  d.merger_fc1 = u.linear(vision.merger_fc1);
  d.merger_fc2 = u.linear(vision.merger_fc2);
  d.embed = u.matrices({&text.embed});
  d.text.clear();
  for (const auto& l : text.layers) {
    DTextLayer dl;
    dl.input_norm = u.vectors({&l.input_norm});
    dl.post_norm = u.vectors({&l.post_norm});
    dl.qkv = u.fused(l.q, l.k, l.v);
    dl.o = u.linear(l.o);
    dl.gate_up = u.fused(l.gate, l.up);
    dl.down = u.linear(l.down);
    d.text.push_back(dl);
  }
  d.norm = u.vectors({&text.norm});
  const bool tied = text.lm_head.data == text.embed.data;
  d.lm_head = {tied ? d.embed : u.matrices({&text.lm_head}), nullptr, text.lm_head.rows, text.lm_head.cols};
}

}  // namespace

std::uint64_t device_weight_bytes(const VisionWeights& vision, const TextWeights& text) {
  Uploader counter(nullptr, nullptr);
  DeviceWeights scratch;
  walk(counter, vision, text, scratch);
  return counter.used();
}

DeviceWeights upload_weights(const VisionWeights& vision, const TextWeights& text, cudaStream_t stream) {
  DeviceWeights d;
  d.memory = rc::DeviceMemory(device_weight_bytes(vision, text), "model weights");
  Uploader u(d.memory.as<char>(), stream);
  walk(u, vision, text, d);
  MMI_GPU_CHECK(cudaStreamSynchronize(stream));
  return d;
}

}  // namespace mmi::qwen2_5_vl::gpu
