// The identity a pattern file records for the model it was made for.
#include <string_view>

#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/mapped_file.hpp"
#include "sha256.hpp"

namespace mmi::patterns {

ModelIdentity model_identity(const qwen2_5_vl::Model& model, const std::filesystem::path& model_dir) {
  const std::filesystem::path config = model_dir / "config.json";
  std::string hash;
  try {
    const runtime::MappedFile f = runtime::MappedFile::open(config);
    const auto bytes = f.bytes();
    hash = detail::sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const runtime::Error& e) {
    throw Error(e.code() == runtime::ErrorCode::FileNotFound ? ErrorCode::FileNotFound : ErrorCode::FileUnreadable,
                config.string(), "", e.detail());
  }
  const auto& text = model.config().text;
  return ModelIdentity{model.info().family, text.layers, text.heads, text.kv_heads, text.head_dim, hash};
}

}  // namespace mmi::patterns
