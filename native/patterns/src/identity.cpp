// The identity a pattern file records for the model it was made for.
#include <string_view>
#include <utility>

#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/mapped_file.hpp"
#include "mmi/runtime/model_folder.hpp"
#include "mmi/runtime/video_model.hpp"
#include "sha256.hpp"

namespace mmi::patterns {

ModelIdentity model_identity(const runtime::VideoModel& model, const std::filesystem::path& model_dir) {
  const std::filesystem::path config = model_dir / "config.json";
  std::string hash;
  try {
    // Hashed where the model read it from (a link is followed only as far as the folder allows).
    const runtime::MappedFile f = runtime::MappedFile::open(runtime::folder_file(model_dir, "config.json"));
    const auto bytes = f.bytes();
    hash = detail::sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const runtime::Error& e) {
    throw Error(e.code() == runtime::ErrorCode::FileNotFound ? ErrorCode::FileNotFound : ErrorCode::FileUnreadable,
                config.string(), "", e.detail());
  }
  return model_sizes(model, std::move(hash));
}

ModelIdentity model_sizes(const runtime::VideoModel& model, std::string config_sha256) {
  const runtime::TextShape text = model.text_shape();
  return ModelIdentity{model.info().family, text.layers, text.heads, text.kv_heads, text.head_dim,
                       std::move(config_sha256)};
}

}  // namespace mmi::patterns
