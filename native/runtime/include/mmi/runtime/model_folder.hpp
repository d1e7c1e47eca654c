// A Hugging Face model folder: config.json plus weights in one model.safetensors or in shards listed by
// model.safetensors.index.json. Every weight file is memory-mapped and validated when the folder is opened.
// Tensor names are looked up under the released checkpoints' names ("model.layers.*", "visual.*"); files
// written by newer transformers ("model.language_model.*", "model.visual.*") are mapped onto them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmi/ops/matrix.hpp"
#include "mmi/runtime/dtype.hpp"
#include "mmi/runtime/json.hpp"
#include "mmi/runtime/safetensors.hpp"

namespace mmi::runtime {

struct TensorRef {
  const SafetensorsFile* file = nullptr;
  const TensorInfo* info = nullptr;
  std::span<const std::byte> data;

  const std::string& name() const { return info->name; }
  std::string file_name() const { return file->path().filename().string(); }
};

// Where a model folder's file `name` may be read: the file itself when it is no link, or what its links lead to
// when that is inside the folder — or, for a folder that is a Hugging Face cache snapshot
// (<repo>/snapshots/<revision>), inside that repository's blobs/, where the cache keeps the bytes. A link
// anywhere else is Error(OutsideFolder) naming the file, so a folder cannot make the engine read other files.
// A file that is no link (or is absent: the caller's open then reports FileNotFound) gives its path unchanged.
std::filesystem::path folder_file(const std::filesystem::path& dir, std::string_view name);

class ModelFolder {
 public:
  // Throws Error: FileNotFound (config.json, weights, a listed shard), OutsideFolder, FileUnreadable (not a
  // regular file), InvalidJson, any safetensors error,
  // TensorMissing (a tensor the index lists but its shard lacks), InvalidHeader (a bad index entry or a tensor
  // present under both naming conventions).
  static ModelFolder open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  // The path to read for a file of this folder (see folder_file).
  std::filesystem::path file(std::string_view name) const { return folder_file(dir_, name); }
  const Json& config() const { return *config_; }
  std::string config_path() const { return (dir_ / "config.json").string(); }

  std::optional<TensorRef> find(std::string_view name) const;
  // The tensor with exactly this shape, as a matrix the ops can read (F32/F16/BF16); TensorMissing,
  // TensorShape or TensorDtype otherwise, naming the file and the tensor.
  TensorRef require(std::string_view name, std::span<const std::int64_t> shape) const;
  ops::MatrixView matrix(std::string_view name, std::int64_t rows, std::int64_t cols) const;
  // A 1-D tensor of n elements converted to fp32 (norm weights, biases).
  std::vector<float> vector_f32(std::string_view name, std::int64_t n) const;

  std::size_t tensor_count() const { return tensors_.size(); }
  std::uint64_t weight_bytes() const;
  std::set<Dtype> dtypes() const;
  std::vector<std::string> weight_files() const;

 private:
  std::filesystem::path dir_;
  std::string weights_source_;  // model.safetensors or model.safetensors.index.json, for errors
  std::unique_ptr<Json> config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorRef, std::less<>> tensors_;  // by released name
};

// The released checkpoints' name for a tensor ("model.language_model.x" -> "model.x", "model.visual.x" ->
// "visual.x"); other names are returned unchanged.
std::string canonical_tensor_name(std::string_view name);

}  // namespace mmi::runtime
