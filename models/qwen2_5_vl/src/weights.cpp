#include "weights.hpp"

#include <string>

namespace mmi::qwen2_5_vl {

namespace {

Linear linear(const runtime::ModelFolder& f, const std::string& name, std::int64_t out, std::int64_t in, bool bias) {
  Linear l;
  l.w = f.matrix(name + ".weight", out, in);
  if (bias) l.b = f.vector_f32(name + ".bias", out);
  return l;
}

}  // namespace

VisionWeights bind_vision(const runtime::ModelFolder& f, const VisionConfig& c) {
  VisionWeights w;
  const std::int64_t shape[5] = {c.hidden, c.in_channels, c.temporal_patch, c.patch, c.patch};
  const runtime::TensorRef pe = f.require("visual.patch_embed.proj.weight", shape);
  w.patch_embed = ops::MatrixView{pe.data.data(), *runtime::to_elem_type(pe.info->dtype), c.hidden, c.patch_dim()};
  for (std::int64_t i = 0; i < c.depth; ++i) {
    const std::string p = "visual.blocks." + std::to_string(i) + ".";
    VisionBlockWeights b;
    b.norm1 = f.vector_f32(p + "norm1.weight", c.hidden);
    b.norm2 = f.vector_f32(p + "norm2.weight", c.hidden);
    b.qkv = linear(f, p + "attn.qkv", 3 * c.hidden, c.hidden, true);
    b.proj = linear(f, p + "attn.proj", c.hidden, c.hidden, true);
    b.gate = linear(f, p + "mlp.gate_proj", c.intermediate, c.hidden, true);
    b.up = linear(f, p + "mlp.up_proj", c.intermediate, c.hidden, true);
    b.down = linear(f, p + "mlp.down_proj", c.hidden, c.intermediate, true);
    w.blocks.push_back(std::move(b));
  }
  const std::int64_t merged = c.hidden * c.merge_unit();
  w.merger_norm = f.vector_f32("visual.merger.ln_q.weight", c.hidden);
  w.merger_fc1 = linear(f, "visual.merger.mlp.0", merged, merged, true);
  w.merger_fc2 = linear(f, "visual.merger.mlp.2", c.out_hidden, merged, true);
  return w;
}

TextWeights bind_text(const runtime::ModelFolder& f, const TextConfig& c) {
  TextWeights w;
  const std::int64_t q_dim = c.heads * c.head_dim;
  const std::int64_t kv_dim = c.kv_heads * c.head_dim;
  w.embed = f.matrix("model.embed_tokens.weight", c.vocab, c.hidden);
  for (std::int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    TextLayerWeights l;
    l.input_norm = f.vector_f32(p + "input_layernorm.weight", c.hidden);
    l.post_norm = f.vector_f32(p + "post_attention_layernorm.weight", c.hidden);
    l.q = linear(f, p + "self_attn.q_proj", q_dim, c.hidden, true);
    l.k = linear(f, p + "self_attn.k_proj", kv_dim, c.hidden, true);
    l.v = linear(f, p + "self_attn.v_proj", kv_dim, c.hidden, true);
    l.o = linear(f, p + "self_attn.o_proj", c.hidden, q_dim, false);
    l.gate = linear(f, p + "mlp.gate_proj", c.intermediate, c.hidden, false);
    l.up = linear(f, p + "mlp.up_proj", c.intermediate, c.hidden, false);
    l.down = linear(f, p + "mlp.down_proj", c.hidden, c.intermediate, false);
    w.layers.push_back(std::move(l));
  }
  w.norm = f.vector_f32("model.norm.weight", c.hidden);
  // Tied checkpoints (3B) ship no lm_head; some writers still include it, identical to the embedding.
  w.lm_head = (c.tie_word_embeddings && !f.find("lm_head.weight")) ? w.embed : f.matrix("lm_head.weight", c.vocab, c.hidden);
  return w;
}

}  // namespace mmi::qwen2_5_vl
