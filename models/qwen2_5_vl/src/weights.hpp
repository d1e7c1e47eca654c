// The Qwen2.5-VL weights bound from a model folder: matrices stay in their file dtype (memory-mapped), small
// vectors (norm weights, biases) are converted to fp32. Binding checks every name, shape and dtype.
#pragma once

#include <vector>

#include "mmi/ops/matrix.hpp"
#include "mmi/qwen2_5_vl/config.hpp"
#include "mmi/runtime/model_folder.hpp"

namespace mmi::qwen2_5_vl {

struct Linear {
  ops::MatrixView w;      // [out, in]
  std::vector<float> b;   // [out] or empty
  const float* bias() const { return b.empty() ? nullptr : b.data(); }
};

struct VisionBlockWeights {
  std::vector<float> norm1, norm2;
  Linear qkv, proj, gate, up, down;
};

struct VisionWeights {
  ops::MatrixView patch_embed;  // [hidden, 3*2*14*14]
  std::vector<VisionBlockWeights> blocks;
  std::vector<float> merger_norm;
  Linear merger_fc1, merger_fc2;
};

struct TextLayerWeights {
  std::vector<float> input_norm, post_norm;
  Linear q, k, v, o, gate, up, down;
};

struct TextWeights {
  ops::MatrixView embed;    // [vocab, hidden]
  std::vector<TextLayerWeights> layers;
  std::vector<float> norm;
  ops::MatrixView lm_head;  // [vocab, hidden]; the embedding when tied
};

VisionWeights bind_vision(const runtime::ModelFolder& folder, const VisionConfig& c);
TextWeights bind_text(const runtime::ModelFolder& folder, const TextConfig& c);

}  // namespace mmi::qwen2_5_vl
