// safetensors files and model folders, valid and hostile: every defect must be a typed Error naming the file
// and the tensor (or key), never a crash. Runs under the sanitizer build too.
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "runtime_checks.hpp"
#include "safetensors_writer.hpp"
#include "fixture_paths.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/model_folder.hpp"
#include "mmi/runtime/safetensors.hpp"

namespace fs = std::filesystem;
using mmi::runtime::ErrorCode;
using mmi::runtime::ModelFolder;
using mmi::runtime::SafetensorsFile;

using namespace st_writer;

namespace {

// A copy of the single-file fixture model, to be damaged by a test.
fs::path copy_model(const fixtures::ScratchDir& dir) {
  const fs::path dst = dir.path() / "model";
  fs::copy(fixtures::dir("tiny-a/model"), dst, fs::copy_options::recursive);
  return dst;
}

}  // namespace

TEST(opens_the_single_file_and_the_sharded_fixture_folders) {
  const ModelFolder a = ModelFolder::open(fixtures::dir("tiny-a/model"));
  CHECK(a.weight_files().size() == 1);
  CHECK(a.find("visual.blocks.0.attn.qkv.weight").has_value());
  CHECK(a.find("model.language_model.norm.weight").has_value());  // newer naming maps onto the released one
  const ModelFolder b = ModelFolder::open(fixtures::dir("tiny-b/model"));
  CHECK(b.weight_files().size() == 2);
  CHECK(!b.find("lm_head.weight").has_value());  // tied
  CHECK(b.dtypes().size() == 1 && *b.dtypes().begin() == mmi::runtime::Dtype::F32);
}

TEST(hostile_safetensors_files_give_typed_errors) {
  fixtures::ScratchDir dir("st");
  const fs::path p = dir.path() / "x.safetensors";
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

  write_all(p, "abc");
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::TruncatedFile, "x.safetensors");
  write_all(p, u64_le(1ull << 62) + "{}");
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::HeaderTooLarge, "x.safetensors");
  write_all(p, u64_le(4096) + ok_header);
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::HeaderBeyondFile, "x.safetensors");
  write_all(p, file_with("{\"a\":", std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "x.safetensors");
  write_all(p, file_with("[1,2]", ""));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "not a JSON object");
  write_all(p, file_with(ok_header, std::string(4, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::TruncatedFile, "'a'");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::TensorShape, "'a'");
  write_all(p, file_with(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::TensorDtype, "'a'");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::string(12, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::TensorOverlap, "'b'");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "'a'");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                         std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "overflow");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "data_offsets");
  write_all(p, file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":1}})",
                         std::string(8, '\0')));
  CHECK_THROWS_ERROR(SafetensorsFile::open(p), ErrorCode::InvalidHeader, "metadata");

  write_all(p, file_with(R"({"__metadata__":{"format":"pt"},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
                         R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                         std::string(8, '\0')));
  const SafetensorsFile good = SafetensorsFile::open(p);
  CHECK(good.tensors().size() == 2 && good.metadata().at("format") == "pt");
  CHECK(good.find("a") != nullptr && good.bytes(*good.find("a")).size() == 8);
}

TEST(a_damaged_model_folder_names_the_file_and_the_tensor) {
  using mmi::qwen2_5_vl::Model;
  {
    fixtures::ScratchDir dir("missing");
    const fs::path m = copy_model(dir);
    auto e = entries_of(m / "model.safetensors");
    std::erase_if(e, [](const Entry& x) { return x.name == "model.layers.1.mlp.up_proj.weight"; });
    write_entries(m / "model.safetensors", e);
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::TensorMissing, "model.layers.1.mlp.up_proj.weight");
  }
  {
    fixtures::ScratchDir dir("shape");
    const fs::path m = copy_model(dir);
    auto e = entries_of(m / "model.safetensors");
    for (auto& x : e) {
      if (x.name == "visual.blocks.0.attn.qkv.weight") std::swap(x.shape[0], x.shape[1]);
    }
    write_entries(m / "model.safetensors", e);
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::TensorShape, "model.safetensors: 'visual.blocks.0.attn.qkv.weight'");
  }
  {
    fixtures::ScratchDir dir("dtype");
    const fs::path m = copy_model(dir);
    auto e = entries_of(m / "model.safetensors");
    for (auto& x : e) {
      if (x.name == "model.norm.weight") x.dtype = "I32";
    }
    write_entries(m / "model.safetensors", e);
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::TensorDtype, "model.safetensors: 'model.norm.weight'");
  }
  {
    fixtures::ScratchDir dir("truncated");
    const fs::path m = copy_model(dir);
    const std::string bytes = read_all(m / "model.safetensors");
    write_all(m / "model.safetensors", bytes.substr(0, bytes.size() - 1000));
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::TruncatedFile, "model.safetensors: '");
  }
  {
    fixtures::ScratchDir dir("beyond");
    const fs::path m = copy_model(dir);
    std::string bytes = read_all(m / "model.safetensors");
    bytes.replace(0, 8, u64_le(bytes.size()));
    write_all(m / "model.safetensors", bytes);
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::HeaderBeyondFile, "model.safetensors");
  }
  {
    fixtures::ScratchDir dir("absurd");
    const fs::path m = copy_model(dir);
    std::string bytes = read_all(m / "model.safetensors");
    bytes.replace(0, 8, u64_le(~0ull));
    write_all(m / "model.safetensors", bytes);
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::HeaderTooLarge, "model.safetensors");
  }
  {
    fixtures::ScratchDir dir("nothing");
    CHECK_THROWS_ERROR(Model::load(dir.path()), ErrorCode::FileNotFound, "config.json");
    write_all(dir.path() / "config.json", "{\"model_type\": \"qwen2_5_vl\",");
    CHECK_THROWS_ERROR(Model::load(dir.path()), ErrorCode::InvalidJson, "config.json");
    write_all(dir.path() / "config.json", "{}");
    CHECK_THROWS_ERROR(Model::load(dir.path()), ErrorCode::FileNotFound, "model.safetensors");
  }
}

TEST(a_damaged_shard_index_names_the_shard_and_the_tensor) {
  auto sharded = [](const fixtures::ScratchDir& dir) {
    const fs::path dst = dir.path() / "model";
    fs::copy(fixtures::dir("tiny-b/model"), dst, fs::copy_options::recursive);
    return dst;
  };
  {
    fixtures::ScratchDir dir("shard-missing");
    const fs::path m = sharded(dir);
    fs::remove(m / "model-00002-of-00002.safetensors");
    CHECK_THROWS_ERROR(ModelFolder::open(m), ErrorCode::FileNotFound, "model-00002-of-00002.safetensors");
  }
  {
    fixtures::ScratchDir dir("shard-tensor");
    const fs::path m = sharded(dir);
    std::string index = read_all(m / "model.safetensors.index.json");
    const std::string from = "\"model.norm.weight\"";
    index.replace(index.find(from), from.size(), "\"model.norm.weights\"");
    write_all(m / "model.safetensors.index.json", index);
    CHECK_THROWS_ERROR(ModelFolder::open(m), ErrorCode::TensorMissing, "'model.norm.weights'");
  }
  {
    fixtures::ScratchDir dir("shard-escape");
    const fs::path m = sharded(dir);
    write_all(m / "model.safetensors.index.json", R"({"weight_map": {"model.norm.weight": "../../etc/passwd"}})");
    CHECK_THROWS_ERROR(ModelFolder::open(m), ErrorCode::InvalidHeader, "'model.norm.weight'");
  }
}

TEST(config_json_defects_name_the_key) {
  using mmi::qwen2_5_vl::Model;
  auto with_config = [](const fixtures::ScratchDir& dir, const std::string& from, const std::string& to) {
    const fs::path m = copy_model(dir);
    std::string cfg = read_all(m / "config.json");
    const auto at = cfg.find(from);
    REQUIRE(at != std::string::npos);
    cfg.replace(at, from.size(), to);
    write_all(m / "config.json", cfg);
    return m;
  };
  {
    fixtures::ScratchDir dir("cfg-hidden");
    const fs::path m = with_config(dir, "\"hidden_size\": 64,\n  \"intermediate_size\": 128", "\"intermediate_size\": 128");
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::ConfigMissingKey, "config.json: 'hidden_size'");
  }
  {
    fixtures::ScratchDir dir("cfg-vision");
    const fs::path m = with_config(dir, "\"vision_config\"", "\"vision_konfig\"");
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::ConfigMissingKey, "'vision_config'");
  }
  {
    fixtures::ScratchDir dir("cfg-mrope");
    const fs::path m = with_config(dir, "\"mrope_section\": [\n      2,", "\"mrope_section\": [\n      5,");
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::ConfigInvalid, "mrope_section");
  }
  {
    fixtures::ScratchDir dir("cfg-type");
    const fs::path m = with_config(dir, "\"model_type\": \"qwen2_5_vl\",\n  \"bos", "\"model_type\": \"llava\",\n  \"bos");
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::UnsupportedModel, "llava");
  }
  {
    fixtures::ScratchDir dir("cfg-heads");
    const fs::path m = with_config(dir, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3");
    CHECK_THROWS_ERROR(Model::load(m), ErrorCode::ConfigInvalid, "num_key_value_heads");
  }
}

