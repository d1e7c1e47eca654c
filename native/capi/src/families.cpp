#include "families.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "mmi/qwen2_5_vl/family.hpp"
#include "mmi/runtime/config.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/model_folder.hpp"

namespace mmi::capi {

using runtime::ModelFamily;

std::span<const ModelFamily* const> families() {
  static const std::array<const ModelFamily*, 1> all{&qwen2_5_vl::family()};
  return all;
}

namespace {

std::string family_names() {
  std::string names;
  for (const ModelFamily* f : families()) names += (names.empty() ? "" : ", ") + std::string(f->name);
  return names;
}

template <class Pred>
const ModelFamily* find_family(Pred pred) {
  for (const ModelFamily* f : families()) {
    if (pred(*f)) return f;
  }
  return nullptr;
}

bool contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

const ModelFamily& family_of(const std::filesystem::path& dir) {
  const std::string file = (dir / "config.json").string();
  // Through the folder's link rule, as the loader reads it: choosing the family must not read outside the folder.
  const runtime::Json root = runtime::read_json_file(runtime::folder_file(dir, "config.json").string());
  if (!root.is_object()) throw runtime::Error(runtime::ErrorCode::ConfigInvalid, file, "", "not a JSON object");
  const runtime::ConfigView config(root, file);
  const std::optional<std::string> model_type = config.opt_string("model_type");
  if (model_type) {
    if (const ModelFamily* f = find_family([&](const ModelFamily& f) { return contains(f.model_types, *model_type); }))
      return *f;
  }
  std::string architectures;
  if (const runtime::Json* list = root.find("architectures"); list != nullptr && list->as_array() != nullptr) {
    for (const runtime::Json& entry : *list->as_array()) {
      const std::string* name = entry.as_string();
      if (name == nullptr) continue;
      if (const ModelFamily* f = find_family([&](const ModelFamily& f) { return contains(f.architectures, *name); }))
        return *f;
      architectures += (architectures.empty() ? "" : ", ") + *name;
    }
  }
  const std::string said = (model_type ? "model_type '" + *model_type + "'" : std::string("no model_type")) +
                           (architectures.empty() ? "" : " and architectures " + architectures);
  throw runtime::Error(model_type ? runtime::ErrorCode::UnsupportedModel : runtime::ErrorCode::ConfigMissingKey, file,
                       "model_type", "config.json names " + said + "; no model family reads it (families: " +
                                         family_names() + ")");
}

}  // namespace mmi::capi
