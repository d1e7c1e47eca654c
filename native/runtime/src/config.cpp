#include "mmi/runtime/config.hpp"


#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/mapped_file.hpp"

namespace mmi::runtime {

Json read_json_file(const std::string& path, std::size_t max_bytes) {
  MappedFile f = MappedFile::open(path);
  if (f.size() > max_bytes) {
    throw Error(ErrorCode::InvalidJson, path, "", "file larger than " + std::to_string(max_bytes) + " bytes");
  }
  const auto bytes = f.bytes();
  try {
    return Json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const JsonError& e) {
    throw Error(ErrorCode::InvalidJson, path, "", e.what());
  }
}

ConfigView::ConfigView(const Json& node, std::string file, std::string path)
    : node_(&node), file_(std::move(file)), path_(std::move(path)) {}

std::string ConfigView::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const Json* ConfigView::member(std::string_view key) const {
  const Json* v = node_->find(key);
  return (v != nullptr && !v->is_null()) ? v : nullptr;
}

bool ConfigView::has(std::string_view key) const { return member(key) != nullptr; }

std::optional<ConfigView> ConfigView::child(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected an object");
  return ConfigView(*v, file_, key_path(key));
}

std::optional<std::int64_t> ConfigView::opt_int(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  auto i = v->as_int();
  if (!i) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected an integer");
  return i;
}

std::optional<double> ConfigView::opt_number(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  const auto* n = v->as_number();
  if (n == nullptr) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected a number");
  return n->value;
}

std::optional<bool> ConfigView::opt_bool(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  const bool* b = v->as_bool();
  if (b == nullptr) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected true or false");
  return *b;
}

std::optional<std::string> ConfigView::opt_string(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  const std::string* s = v->as_string();
  if (s == nullptr) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected a string");
  return *s;
}

std::optional<std::vector<std::int64_t>> ConfigView::opt_int_array(std::string_view key) const {
  const Json* v = member(key);
  if (v == nullptr) return std::nullopt;
  const auto* arr = v->as_array();
  if (arr == nullptr) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected an array of integers");
  std::vector<std::int64_t> out;
  for (const Json& e : *arr) {
    auto i = e.as_int();
    if (!i) throw Error(ErrorCode::ConfigInvalid, file_, key_path(key), "expected an array of integers");
    out.push_back(*i);
  }
  return out;
}

namespace {
template <typename T>
T required(const std::optional<T>& v, const ConfigView& c, std::string_view key) {
  if (!v) throw Error(ErrorCode::ConfigMissingKey, c.file(), c.key_path(key), "required key is missing");
  return *v;
}
}  // namespace

std::int64_t ConfigView::get_int(std::string_view key) const { return required(opt_int(key), *this, key); }
double ConfigView::get_number(std::string_view key) const { return required(opt_number(key), *this, key); }
bool ConfigView::get_bool(std::string_view key) const { return required(opt_bool(key), *this, key); }
std::string ConfigView::get_string(std::string_view key) const { return required(opt_string(key), *this, key); }
std::vector<std::int64_t> ConfigView::get_int_array(std::string_view key) const {
  return required(opt_int_array(key), *this, key);
}

}  // namespace mmi::runtime
