#include "mmi/runtime/model_folder.hpp"


#include "mmi/runtime/config.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::runtime {

namespace fs = std::filesystem;

std::string canonical_tensor_name(std::string_view name) {
  constexpr std::string_view kLm = "model.language_model.";
  constexpr std::string_view kVis = "model.visual.";
  if (name.substr(0, kLm.size()) == kLm) return "model." + std::string(name.substr(kLm.size()));
  if (name.substr(0, kVis.size()) == kVis) return "visual." + std::string(name.substr(kVis.size()));
  return std::string(name);
}

namespace {

std::string shape_text(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A shard name from the index must be a plain file name inside the folder.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

bool inside(const fs::path& path, const fs::path& root) {
  const fs::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

fs::path folder_file(const fs::path& dir, std::string_view name) {
  const fs::path path = dir / name;
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(path, ec))) return path;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) throw Error(ErrorCode::FileUnreadable, path.string(), "", ec.message());
  if (!fs::exists(st)) {
    throw Error(ErrorCode::FileNotFound, path.string(), "",
                "a link to " + fs::read_symlink(path, ec).string() + ", which does not exist");
  }
  const fs::path root = fs::weakly_canonical(dir, ec);
  if (ec) throw Error(ErrorCode::FileUnreadable, dir.string(), "", ec.message());
  const fs::path target = fs::weakly_canonical(path, ec);
  if (ec) throw Error(ErrorCode::FileUnreadable, path.string(), "", ec.message());
  if (inside(target, root)) return target;
  if (root.parent_path().filename() == "snapshots") {
    const fs::path blobs = fs::weakly_canonical(root.parent_path().parent_path() / "blobs", ec);
    if (!ec && inside(target, blobs)) return target;
  }
  throw Error(ErrorCode::OutsideFolder, path.string(), "",
              "a link to " + target.string() + ", outside the model folder " + root.string());
}

ModelFolder ModelFolder::open(const fs::path& dir) {
  ModelFolder m;
  m.dir_ = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCode::FileNotFound, dir.string(), "", "not a directory");
  m.config_ = std::make_unique<Json>(read_json_file(folder_file(dir, "config.json").string()));
  if (!m.config_->is_object()) throw Error(ErrorCode::ConfigInvalid, m.config_path(), "", "not a JSON object");

  auto add = [&](const SafetensorsFile& file, const TensorInfo& info) {
    std::string key = canonical_tensor_name(info.name);
    if (m.tensors_.count(key) != 0) {
      throw Error(ErrorCode::InvalidHeader, file.path().filename().string(), info.name,
                  "present twice (also as '" + m.tensors_.at(key).name() + "' in " +
                      m.tensors_.at(key).file_name() + ")");
    }
    m.tensors_.emplace(std::move(key), TensorRef{&file, &info, file.bytes(info)});
  };

  const fs::path index_path = dir / "model.safetensors.index.json";
  const fs::path single_path = dir / "model.safetensors";
  // A link counts as present even when it leads nowhere: folder_file then names it.
  if (fs::exists(fs::symlink_status(index_path, ec))) {
    const std::string index_file = index_path.string();
    m.weights_source_ = index_path.filename().string();
    const Json index = read_json_file(folder_file(dir, index_path.filename().string()).string());
    const Json* map = index.find("weight_map");
    if (map == nullptr || !map->is_object()) {
      throw Error(ErrorCode::InvalidHeader, index_file, "weight_map", "missing or not an object");
    }
    std::map<std::string, const SafetensorsFile*> shards;
    for (const auto& [tensor, shard] : *map->as_object()) {
      if (!shard.is_string() || !plain_file_name(*shard.as_string())) {
        throw Error(ErrorCode::InvalidHeader, index_file, tensor, "shard must be a file name inside the folder");
      }
      const std::string& shard_name = *shard.as_string();
      auto it = shards.find(shard_name);
      if (it == shards.end()) {
        m.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(folder_file(dir, shard_name))));
        it = shards.emplace(shard_name, m.files_.back().get()).first;
      }
      const TensorInfo* info = it->second->find(tensor);
      if (info == nullptr) {
        throw Error(ErrorCode::TensorMissing, shard_name, tensor, "listed in model.safetensors.index.json but absent");
      }
      add(*it->second, *info);
    }
  } else if (fs::exists(fs::symlink_status(single_path, ec))) {
    m.weights_source_ = single_path.filename().string();
    m.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(folder_file(dir, "model.safetensors"))));
    for (const auto& info : m.files_.back()->tensors()) add(*m.files_.back(), info);
  } else {
    throw Error(ErrorCode::FileNotFound, dir.string(), "model.safetensors",
                "neither model.safetensors nor model.safetensors.index.json is present");
  }
  return m;
}

std::optional<TensorRef> ModelFolder::find(std::string_view name) const {
  auto it = tensors_.find(canonical_tensor_name(name));
  if (it == tensors_.end()) return std::nullopt;
  return it->second;
}

TensorRef ModelFolder::require(std::string_view name, std::span<const std::int64_t> shape) const {
  auto t = find(name);
  if (!t) {
    throw Error(ErrorCode::TensorMissing, weights_source_, std::string(name), "required tensor is absent");
  }
  if (!std::equal(t->info->shape.begin(), t->info->shape.end(), shape.begin(), shape.end())) {
    throw Error(ErrorCode::TensorShape, t->file_name(), t->name(),
                "shape " + shape_text(t->info->shape) + ", expected " + shape_text(shape));
  }
  if (!to_elem_type(t->info->dtype)) {
    throw Error(ErrorCode::TensorDtype, t->file_name(), t->name(),
                "dtype " + std::string(dtype_name(t->info->dtype)) + " is not F32, F16 or BF16");
  }
  return *t;
}

ops::MatrixView ModelFolder::matrix(std::string_view name, std::int64_t rows, std::int64_t cols) const {
  const std::int64_t shape[2] = {rows, cols};
  TensorRef t = require(name, shape);
  return ops::MatrixView{t.data.data(), *to_elem_type(t.info->dtype), rows, cols};
}

std::vector<float> ModelFolder::vector_f32(std::string_view name, std::int64_t n) const {
  const std::int64_t shape[1] = {n};
  TensorRef t = require(name, shape);
  std::vector<float> out(static_cast<std::size_t>(n));
  ops::load_row(ops::MatrixView{t.data.data(), *to_elem_type(t.info->dtype), 1, n}, 0, 0, n, out.data());
  return out;
}

std::uint64_t ModelFolder::weight_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [_, t] : tensors_) total += t.data.size();
  return total;
}

std::set<Dtype> ModelFolder::dtypes() const {
  std::set<Dtype> out;
  for (const auto& [_, t] : tensors_) out.insert(t.info->dtype);
  return out;
}

std::vector<std::string> ModelFolder::weight_files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path().filename().string());
  return out;
}

}  // namespace mmi::runtime
