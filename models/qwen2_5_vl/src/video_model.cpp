// Qwen2.5-VL as the runtime's model-neutral VideoModel: its sizes from config.json and preprocessor_config.json, its
// streaming encoder and its sessions; and the family record the C API loads it by.
#include <memory>

#include "mmi/qwen2_5_vl/family.hpp"
#include "mmi/qwen2_5_vl/model.hpp"

namespace mmi::qwen2_5_vl {

runtime::TextShape Model::text_shape() const {
  const TextConfig& t = config().text;
  return {.layers = t.layers, .heads = t.heads, .kv_heads = t.kv_heads, .head_dim = t.head_dim, .hidden = t.hidden,
          .vocab = t.vocab};
}

runtime::VideoShape Model::video_shape() const {
  const Config& c = config();
  const PreprocessorConfig& p = preprocessor();
  return {.video_token = c.video_token_id,
          .vision_start_token = c.vision_start_token_id,
          .vision_end_token = c.vision_end_token_id,
          .eos_tokens = c.eos_token_ids,
          .patch = c.vision.patch,
          .merge = c.vision.merge,
          .temporal_patch = c.vision.temporal_patch,
          .tokens_per_second = c.vision.tokens_per_second,
          .min_pixels = p.min_pixels,
          .max_pixels = p.max_pixels};
}

std::unique_ptr<runtime::VideoStream> Model::stream_video(std::int64_t height, std::int64_t width,
                                                          const RunControl& control) const {
  return std::make_unique<VideoEncoder>(*this, height, width, control);
}

std::unique_ptr<runtime::Conversation> Model::open_conversation(std::int64_t kv_capacity) const {
  return std::make_unique<Session>(*this, kv_capacity);
}

const runtime::ModelFamily& family() {
  static const runtime::ModelFamily f{
      "qwen2_5_vl",
      {"qwen2_5_vl"},
      {"Qwen2_5_VLForConditionalGeneration"},
      [](const std::filesystem::path& dir, const LoadOptions& options) -> std::unique_ptr<runtime::VideoModel> {
        return Model::load(dir, options);
      },
  };
  return f;
}

}  // namespace mmi::qwen2_5_vl
