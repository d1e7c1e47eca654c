// The model's weights on the GPU, in one allocation: matrices in bf16 (converted from the file's dtype while they
// are uploaded), norm weights and biases in fp32. Projections that read the same input are stored fused: the
// language model's q/k/v and gate/up, the vision blocks' gate/up, so each is one GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "../weights.hpp"
#include "mmi/ops/cuda/ops.hpp"
#include "mmi/runtime/cuda/device.hpp"

namespace mmi::qwen2_5_vl::gpu {

using ops::cuda::bf16;

struct DLinear {
  const bf16* w = nullptr;    // [out, in]
  const float* b = nullptr;   // [out] or null
  std::int64_t out = 0, in = 0;
};

struct DVisionBlock {
  const float* norm1 = nullptr;
  const float* norm2 = nullptr;
  DLinear qkv, proj, gate_up, down;  // gate_up: [2·intermediate, hidden], gate rows first
};

struct DTextLayer {
  const float* input_norm = nullptr;
  const float* post_norm = nullptr;
  DLinear qkv, o, gate_up, down;  // qkv: [q + 2·kv, hidden]
};

struct DeviceWeights {
  runtime::cuda::DeviceMemory memory;
  DLinear patch_embed;
  std::vector<DVisionBlock> vision;
  const float* merger_norm = nullptr;
  DLinear merger_fc1, merger_fc2;
  const bf16* embed = nullptr;  // [vocab, hidden]
  std::vector<DTextLayer> text;
  const float* norm = nullptr;
  DLinear lm_head;
};

// Bytes the upload will allocate.
std::uint64_t device_weight_bytes(const VisionWeights& vision, const TextWeights& text);
DeviceWeights upload_weights(const VisionWeights& vision, const TextWeights& text, cudaStream_t stream);

}  // namespace mmi::qwen2_5_vl::gpu
