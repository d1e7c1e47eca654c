// Hostile model folders: copies of the fixture folders (tiny-a single file, tiny-b sharded) damaged one way each —
// safetensors headers and bytes, config.json and preprocessor_config.json lies, shard indexes, links, odd file
// kinds. Each must be refused by Model::load with the expected typed Error, naming the damaged file; none may
// crash (this runs under the sanitizer build too) or read a file outside the folder (every link out of the
// folder leads to a valid copy of the file, so reading it would let the load succeed). The summary line gives the
// figures bench/RESULTS.md records.
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "fixture_paths.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/errors.hpp"
#include "runtime_checks.hpp"
#include "safetensors_writer.hpp"

namespace fs = std::filesystem;
using mmi::qwen2_5_vl::Model;
using mmi::runtime::ErrorCode;
using namespace st_writer;

namespace {

const std::string kSingle = "model.safetensors";
const std::string kIndex = "model.safetensors.index.json";
const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";
const std::string kConfig = "config.json";
const std::string kPre = "preprocessor_config.json";
const std::string kNormEntry = "\"model.norm.weight\": \"" + kShard1 + "\"";  // as the fixture's index lists it

// The scratch folder holds model/ (the folder loaded) and outside/ (a copy of the same files, for links to lead
// to).
struct Folder {
  fs::path model;
  fs::path outside;
};

Folder copy_of(const fixtures::ScratchDir& dir, const std::string& fixture) {
  Folder f{dir.path() / "model", dir.path() / "outside"};
  fs::copy(fixtures::dir(fixture + "/model"), f.model, fs::copy_options::recursive);
  fs::copy(fixtures::dir(fixture + "/model"), f.outside, fs::copy_options::recursive);
  return f;
}

// Replaces the one occurrence of `from` in a text file.
void edit(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = read_all(file);
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
  write_all(file, text);
}

struct Parts {
  std::string header, data;
};

Parts split(const fs::path& file) {
  const std::string bytes = read_all(file);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return {bytes.substr(8, n), bytes.substr(8 + n)};
}

// Edits the JSON header of a safetensors file as text and writes it back with its new length.
void edit_header(const fs::path& file, const std::function<void(std::string&)>& fn) {
  Parts p = split(file);
  fn(p.header);
  write_all(file, file_with(p.header, p.data));
}

void replace_once(std::string& s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
}

// The fixture header's first tensor, exactly as written.
const std::string kLmHead = R"("lm_head.weight":{"dtype":"F32","shape":[352,64],"data_offsets":[0,90112]})";
const std::string kNorm = "\"model.norm.weight\"";

void edit_entries(const fs::path& file, const std::function<void(std::vector<Entry>&)>& fn) {
  auto e = entries_of(file);
  fn(e);
  write_entries(file, e);
}

void set_entry(std::vector<Entry>& e, const std::string& name, const std::function<void(Entry&)>& fn) {
  bool found = false;
  for (auto& x : e) {
    if (x.name == name) {
      fn(x);
      found = true;
    }
  }
  REQUIRE(found);
}

void make_fifo(const fs::path& p) {
  fs::remove(p);
  REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
}

void make_dir(const fs::path& p) {
  fs::remove(p);
  fs::create_directory(p);
}

void link_to(const fs::path& p, const fs::path& target) {
  fs::remove(p);
  fs::create_symlink(target, p);
}

struct Case {
  std::string name;
  std::string fixture;  // tiny-a (single file) or tiny-b (sharded)
  std::function<void(const Folder&)> damage;
  ErrorCode code;
  std::string file;  // the file the message must name
};

std::vector<Case> cases() {
  std::vector<Case> c;
  auto a = [&](std::string name, std::function<void(const Folder&)> damage, ErrorCode code, std::string file) {
    c.push_back({std::move(name), "tiny-a", std::move(damage), code, std::move(file)});
  };
  auto b = [&](std::string name, std::function<void(const Folder&)> damage, ErrorCode code, std::string file) {
    c.push_back({std::move(name), "tiny-b", std::move(damage), code, std::move(file)});
  };
  using E = ErrorCode;

  // ---- model.safetensors: length prefix and truncation -------------------------------------------------------
  const std::uint64_t header_len = split(fixtures::dir("tiny-a/model") / kSingle).header.size();
  const std::uint64_t file_len = fs::file_size(fixtures::dir("tiny-a/model") / kSingle);
  struct Cut {
    std::uint64_t at;
    E code;
  };
  const Cut cuts[] = {
      {0, E::TruncatedFile},
      {1, E::TruncatedFile},
      {7, E::TruncatedFile},
      {8, E::HeaderBeyondFile},
      {9, E::HeaderBeyondFile},
      {8 + header_len / 2, E::HeaderBeyondFile},
      {8 + header_len - 1, E::HeaderBeyondFile},
      {8 + header_len, E::TruncatedFile},
      {8 + header_len + 1, E::TruncatedFile},
      {8 + header_len + 90112, E::TruncatedFile},
      {(8 + header_len + file_len) / 2, E::TruncatedFile},
      {file_len - 4, E::TruncatedFile},
      {file_len - 1, E::TruncatedFile},
  };
  for (const Cut& cut : cuts) {
    a("safetensors truncated to " + std::to_string(cut.at) + " bytes",
      [at = cut.at](const Folder& f) { write_all(f.model / kSingle, read_all(f.model / kSingle).substr(0, at)); },
      cut.code, kSingle);
  }
  auto set_length = [](std::uint64_t n) {
    return [n](const Folder& f) {
      std::string bytes = read_all(f.model / kSingle);
      bytes.replace(0, 8, u64_le(n));
      write_all(f.model / kSingle, bytes);
    };
  };
  a("header length 0", set_length(0), E::InvalidHeader, kSingle);
  a("header length one past the file", set_length(file_len - 7), E::HeaderBeyondFile, kSingle);
  a("header length 2^63", set_length(1ull << 63), E::HeaderTooLarge, kSingle);
  a("header length 2^64 - 1 (wraps 8 + n)", set_length(~0ull), E::HeaderTooLarge, kSingle);
  a("header length 100 MiB + 1", set_length((100ull << 20) + 1), E::HeaderTooLarge, kSingle);
  a("header length short of its JSON", set_length(header_len / 2), E::InvalidHeader, kSingle);

  // ---- model.safetensors: the JSON header -----------------------------------------------------------------------
  auto header = [&](std::string name, std::function<void(std::string&)> fn, E code) {
    a("header: " + std::move(name), [fn](const Folder& f) { edit_header(f.model / kSingle, fn); }, code, kSingle);
  };
  header("random bytes", [](std::string& h) { h = std::string("\x8f\x01\xfe garbage \x00\x7f", 15); }, E::InvalidHeader);
  header("a JSON array", [](std::string& h) { h = "[1, 2, 3]"; }, E::InvalidHeader);
  header("a JSON string", [](std::string& h) { h = "\"weights\""; }, E::InvalidHeader);
  header("cut to a third", [](std::string& h) { h = h.substr(0, h.size() / 3); }, E::InvalidHeader);
  header("UTF-8 byte order mark", [](std::string& h) { h = "\xEF\xBB\xBF" + h; }, E::InvalidHeader);
  header("invalid UTF-8 in a tensor name", [](std::string& h) { replace_once(h, "\"lm_head.weight\"", "\"lm_head.\xC3\x28\""); },
         E::InvalidHeader);
  header("overlong UTF-8 in a tensor name", [](std::string& h) { replace_once(h, "\"lm_head.weight\"", "\"lm\xC0\xAF\""); },
         E::InvalidHeader);
  header("lone surrogate escape in a name", [](std::string& h) { replace_once(h, "\"lm_head.weight\"", "\"lm\\uD800\""); },
         E::InvalidHeader);
  header("NUL control byte in a name", [](std::string& h) { replace_once(h, "\"lm_head.weight\"", std::string("\"lm\0x\"", 6)); },
         E::InvalidHeader);
  header("duplicate tensor key", [](std::string& h) { replace_once(h, kLmHead, kLmHead + "," + kLmHead); },
         E::InvalidHeader);
  header("nested 100000 deep", [](std::string& h) { h = std::string(100000, '[') + std::string(100000, ']'); },
         E::InvalidHeader);
  header("trailing data after the object", [](std::string& h) { h += "{}"; }, E::InvalidHeader);
  header("entry is a number", [](std::string& h) { replace_once(h, kLmHead, R"("lm_head.weight":7)"); }, E::InvalidHeader);
  header("dtype missing", [](std::string& h) { replace_once(h, R"("lm_head.weight":{"dtype":"F32",)", R"("lm_head.weight":{)"); },
         E::InvalidHeader);
  header("dtype a number", [](std::string& h) { replace_once(h, R"("lm_head.weight":{"dtype":"F32")", R"("lm_head.weight":{"dtype":32)"); },
         E::InvalidHeader);
  header("unknown dtype", [](std::string& h) { replace_once(h, R"("lm_head.weight":{"dtype":"F32")", R"("lm_head.weight":{"dtype":"Q4_K")"); },
         E::TensorDtype);
  header("shape missing", [](std::string& h) { replace_once(h, R"("shape":[352,64],"data_offsets":[0,90112])", R"("data_offsets":[0,90112])"); },
         E::InvalidHeader);
  header("shape not an array", [](std::string& h) { replace_once(h, "[352,64],\"data_offsets\":[0,", "22528,\"data_offsets\":[0,"); },
         E::InvalidHeader);
  header("negative dimension", [](std::string& h) { replace_once(h, "[352,64]", "[-352,-64]"); }, E::InvalidHeader);
  header("fractional dimension", [](std::string& h) { replace_once(h, "[352,64]", "[352.5,64]"); }, E::InvalidHeader);
  header("dimension 2^64 (beyond int64)", [](std::string& h) { replace_once(h, "[352,64]", "[18446744073709551616,1]"); },
         E::InvalidHeader);
  header("element count overflows", [](std::string& h) { replace_once(h, "[352,64]", "[4294967296,4294967296,4294967296]"); },
         E::InvalidHeader);
  header("byte size overflows", [](std::string& h) { replace_once(h, "[352,64]", "[2305843009213693952,4]"); },
         E::InvalidHeader);
  header("huge dimensions that fit (2^30 x 2^30)", [](std::string& h) { replace_once(h, "[352,64]", "[1073741824,1073741824]"); },
         E::TensorShape);
  header("rank 17", [](std::string& h) { replace_once(h, "[352,64]", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,352,64]"); },
         E::InvalidHeader);
  header("data_offsets reversed", [](std::string& h) { replace_once(h, "[0,90112]", "[90112,0]"); }, E::InvalidHeader);
  header("data_offsets negative", [](std::string& h) { replace_once(h, "[0,90112]", "[-90112,0]"); }, E::InvalidHeader);
  header("data_offsets three entries", [](std::string& h) { replace_once(h, "[0,90112]", "[0,90112,0]"); }, E::InvalidHeader);
  header("data_offsets not integers", [](std::string& h) { replace_once(h, "[0,90112]", "[\"0\",\"90112\"]"); },
         E::InvalidHeader);
  header("data_offsets beyond int64", [](std::string& h) { replace_once(h, "[0,90112]", "[9223372036854775808,9223372036854865920]"); },
         E::InvalidHeader);
  header("data_offsets far past the file", [](std::string& h) { replace_once(h, "[0,90112]", "[9223372036854685695,9223372036854775807]"); },
         E::TruncatedFile);
  header("data_offsets span a wrong size", [](std::string& h) { replace_once(h, "[0,90112]", "[0,90116]"); },
         E::TensorShape);
  header("metadata value not a string", [](std::string& h) { replace_once(h, R"({"format":"pt"})", R"({"format":1})"); },
         E::InvalidHeader);
  header("metadata not an object", [](std::string& h) { replace_once(h, R"({"format":"pt"})", R"(["pt"])"); },
         E::InvalidHeader);

  // ---- model.safetensors: tensors that do not fit the model -----------------------------------------------------
  auto entries = [&](std::string name, std::function<void(std::vector<Entry>&)> fn, E code) {
    a("tensors: " + std::move(name), [fn](const Folder& f) { edit_entries(f.model / kSingle, fn); }, code, kSingle);
  };
  entries("two tensors overlapping", [](std::vector<Entry>&) {}, E::TensorOverlap);  // replaced below
  c.back().damage = [](const Folder& f) {
    edit_header(f.model / kSingle, [](std::string& h) {
      replace_once(h, R"("model.embed_tokens.weight":{"dtype":"F32","shape":[352,64],"data_offsets":[90112,180224]})",
                   R"("model.embed_tokens.weight":{"dtype":"F32","shape":[352,64],"data_offsets":[45056,135168]})");
    });
  };
  entries("two tensors on the same bytes", [](std::vector<Entry>&) {}, E::TensorOverlap);
  c.back().damage = [](const Folder& f) {
    edit_header(f.model / kSingle, [](std::string& h) {
      replace_once(h, R"("model.embed_tokens.weight":{"dtype":"F32","shape":[352,64],"data_offsets":[90112,180224]})",
                   R"("model.embed_tokens.weight":{"dtype":"F32","shape":[352,64],"data_offsets":[0,90112]})");
    });
  };
  entries("a weight transposed", [](std::vector<Entry>& e) {
    set_entry(e, "visual.blocks.0.attn.qkv.weight", [](Entry& x) { std::swap(x.shape[0], x.shape[1]); });
  }, E::TensorShape);
  entries("a norm weight given two dimensions", [](std::vector<Entry>& e) {
    set_entry(e, "model.norm.weight", [](Entry& x) { x.shape = {8, 8}; });
  }, E::TensorShape);
  entries("the patch embedding flattened", [](std::vector<Entry>& e) {
    set_entry(e, "visual.patch_embed.proj.weight", [](Entry& x) { x.shape = {x.shape[0], 3 * 2 * 14 * 14}; });
  }, E::TensorShape);
  entries("an empty embedding", [](std::vector<Entry>& e) {
    set_entry(e, "model.embed_tokens.weight", [](Entry& x) {
      x.shape = {0, 64};
      x.bytes.clear();
    });
  }, E::TensorShape);
  entries("a layer's tensor missing", [](std::vector<Entry>& e) {
    std::erase_if(e, [](const Entry& x) { return x.name == "model.layers.1.mlp.up_proj.weight"; });
  }, E::TensorMissing);
  entries("a vision bias missing", [](std::vector<Entry>& e) {
    std::erase_if(e, [](const Entry& x) { return x.name == "visual.blocks.3.attn.qkv.bias"; });
  }, E::TensorMissing);
  entries("the untied lm_head missing", [](std::vector<Entry>& e) {
    std::erase_if(e, [](const Entry& x) { return x.name == "lm_head.weight"; });
  }, E::TensorMissing);
  entries("no tensors at all", [](std::vector<Entry>& e) { e.clear(); }, E::TensorMissing);
  entries("a tensor under both namings", [](std::vector<Entry>& e) {
    Entry copy;
    set_entry(e, "model.norm.weight", [&](Entry& x) { copy = x; });
    copy.name = "model.language_model.norm.weight";
    e.push_back(copy);
  }, E::InvalidHeader);
  for (const char* dtype : {"I32", "U32"}) {  // the same byte size as F32: the header parses, binding refuses
    entries(std::string("a norm weight as ") + dtype, [dtype](std::vector<Entry>& e) {
      set_entry(e, "model.norm.weight", [dtype](Entry& x) { x.dtype = dtype; });
    }, E::TensorDtype);
  }
  for (const char* dtype : {"I64", "F8_E4M3", "BOOL"}) {  // another byte size, with bytes to match
    entries(std::string("a matrix as ") + dtype, [dtype](std::vector<Entry>& e) {
      set_entry(e, "model.layers.0.self_attn.o_proj.weight", [dtype](Entry& x) {
        x.dtype = dtype;
        x.bytes.resize(x.bytes.size() / 4 * mmi::runtime::dtype_size(*mmi::runtime::parse_dtype(dtype)));
      });
    }, E::TensorDtype);
  }
  for (const char* dtype : {"F16", "BF16", "F64", "U8"}) {  // another byte size over the same bytes
    entries(std::string("dtype ") + dtype + " over F32 bytes", [dtype](std::vector<Entry>& e) {
      set_entry(e, "model.norm.weight", [dtype](Entry& x) { x.dtype = dtype; });
    }, E::TensorShape);
  }

  // ---- model.safetensors: the file itself ----------------------------------------------------------------------
  a("weights absent", [](const Folder& f) { fs::remove(f.model / kSingle); }, E::FileNotFound, kSingle);
  a("weights a zero-byte file", [](const Folder& f) { write_all(f.model / kSingle, ""); }, E::TruncatedFile, kSingle);
  a("weights a directory", [](const Folder& f) { make_dir(f.model / kSingle); }, E::FileUnreadable, kSingle);
  a("weights a FIFO (must not block)", [](const Folder& f) { make_fifo(f.model / kSingle); }, E::FileUnreadable, kSingle);
  a("weights a link out of the folder", [](const Folder& f) { link_to(f.model / kSingle, f.outside / kSingle); },
    E::OutsideFolder, kSingle);
  a("weights a relative link out of the folder",
    [](const Folder& f) { link_to(f.model / kSingle, fs::path("..") / "outside" / kSingle); }, E::OutsideFolder, kSingle);
  a("weights a link to /dev/zero", [](const Folder& f) { link_to(f.model / kSingle, "/dev/zero"); }, E::OutsideFolder,
    kSingle);
  a("weights a link to a link out", [](const Folder& f) {
    fs::rename(f.model / kSingle, f.model / "real.safetensors");
    link_to(f.model / "hop.safetensors", f.outside / kSingle);
    link_to(f.model / kSingle, "hop.safetensors");
  }, E::OutsideFolder, kSingle);
  a("weights a dangling link", [](const Folder& f) { link_to(f.model / kSingle, "gone.safetensors"); },
    E::FileNotFound, "gone.safetensors");
  a("weights a link loop", [](const Folder& f) {
    link_to(f.model / kSingle, "loop.safetensors");
    link_to(f.model / "loop.safetensors", kSingle);
  }, E::FileUnreadable, kSingle);

  // ---- config.json ---------------------------------------------------------------------------------------------
  auto config = [&](std::string name, std::function<void(const fs::path&)> fn, E code) {
    a("config.json: " + std::move(name), [fn](const Folder& f) { fn(f.model / kConfig); }, code, kConfig);
  };
  auto cfg = [&](std::string name, std::string from, std::string to, E code) {
    config(std::move(name), [from, to](const fs::path& p) { edit(p, from, to); }, code);
  };
  config("absent", [](const fs::path& p) { fs::remove(p); }, E::FileNotFound);
  config("zero bytes", [](const fs::path& p) { write_all(p, ""); }, E::InvalidJson);
  config("whitespace only", [](const fs::path& p) { write_all(p, " \n\t "); }, E::InvalidJson);
  config("not JSON", [](const fs::path& p) { write_all(p, "model_type = qwen2_5_vl\n"); }, E::InvalidJson);
  config("cut in half", [](const fs::path& p) { write_all(p, read_all(p).substr(0, 600)); }, E::InvalidJson);
  config("Latin-1 bytes", [](const fs::path& p) { edit(p, "\"float32\"", "\"f\xE9loat32\""); }, E::InvalidJson);
  config("UTF-16 encoded", [](const fs::path& p) {
    std::string text = read_all(p), wide = "\xFF\xFE";
    for (char ch : text) wide += std::string{ch, '\0'};
    write_all(p, wide);
  }, E::InvalidJson);
  config("a JSON array", [](const fs::path& p) { write_all(p, "[" + read_all(p) + "]"); }, E::ConfigInvalid);
  config("nested 1000000 deep", [](const fs::path& p) { write_all(p, std::string(1000000, '[')); }, E::InvalidJson);
  config("larger than 64 MiB", [](const fs::path& p) { fs::resize_file(p, (64u << 20) + 1); }, E::InvalidJson);
  config("a directory", [](const fs::path& p) { make_dir(p); }, E::FileUnreadable);
  config("a FIFO (must not block)", [](const fs::path& p) { make_fifo(p); }, E::FileUnreadable);
  a("config.json: a link out of the folder", [](const Folder& f) { link_to(f.model / kConfig, f.outside / kConfig); },
    E::OutsideFolder, kConfig);
  a("config.json: a link to /etc/passwd", [](const Folder& f) { link_to(f.model / kConfig, "/etc/passwd"); },
    E::OutsideFolder, kConfig);
  cfg("duplicate key", "\"vocab_size\": 352,", "\"vocab_size\": 352,\n  \"vocab_size\": 352,", E::InvalidJson);
  cfg("number out of double range", "\"rope_theta\": 1000000.0", "\"rope_theta\": 1e400", E::InvalidJson);
  cfg("another model family", "\"model_type\": \"qwen2_5_vl\",\n  \"bos", "\"model_type\": \"llava\",\n  \"bos",
      E::UnsupportedModel);
  cfg("model_type missing", "\"model_type\": \"qwen2_5_vl\",\n  \"bos", "\"bos", E::ConfigMissingKey);
  cfg("model_type a number", "\"model_type\": \"qwen2_5_vl\",\n  \"bos", "\"model_type\": 25,\n  \"bos",
      E::ConfigInvalid);
  cfg("vision_config missing", "\"vision_config\"", "\"vision_konfig\"", E::ConfigMissingKey);
  cfg("vision_config a list", "\"vision_config\": {", "\"vision_config\": [], \"x\": {", E::ConfigInvalid);
  cfg("hidden_size missing", "\"hidden_size\": 64,\n  \"intermediate_size\": 128", "\"intermediate_size\": 128",
      E::ConfigMissingKey);
  cfg("hidden_size a string", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": \"64\",\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size fractional", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": 64.5,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size zero", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": 0,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size negative", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": -64,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size 2^40", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": 1099511627776,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size beyond int64", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": 92233720368547758070,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("hidden_size a lie (vision out differs)", "\"hidden_size\": 64,\n  \"intermediate_size\": 128",
      "\"hidden_size\": 128,\n  \"intermediate_size\": 128", E::ConfigInvalid);
  cfg("num_attention_heads zero", "\"num_attention_heads\": 4", "\"num_attention_heads\": 0", E::ConfigInvalid);
  cfg("num_attention_heads not dividing hidden", "\"num_attention_heads\": 4", "\"num_attention_heads\": 3",
      E::ConfigInvalid);
  cfg("num_key_value_heads not dividing heads", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3",
      E::ConfigInvalid);
  cfg("num_key_value_heads above heads", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 8", E::ConfigInvalid);
  cfg("mrope_section not summing to head_dim / 2", "\"mrope_section\": [\n      2,", "\"mrope_section\": [\n      5,",
      E::ConfigInvalid);
  cfg("mrope_section entries that overflow a sum", "\"mrope_section\": [\n      2,\n      3,\n      3\n    ]",
      "\"mrope_section\": [9223372036854775807, 9223372036854775807, 2]", E::ConfigInvalid);
  cfg("mrope_section negative", "\"mrope_section\": [\n      2,\n      3,\n      3\n    ]",
      "\"mrope_section\": [-2, 5, 5]", E::ConfigInvalid);
  cfg("mrope_section two entries", "\"mrope_section\": [\n      2,\n      3,\n      3\n    ]",
      "\"mrope_section\": [4, 4]", E::ConfigInvalid);
  cfg("rope_scaling missing", "\"rope_scaling\"", "\"rope_skaling\"", E::ConfigMissingKey);
  cfg("rope type unsupported", "\"type\": \"mrope\"", "\"type\": \"yarn\"", E::ConfigInvalid);
  cfg("rope_theta zero", "\"rope_theta\": 1000000.0", "\"rope_theta\": 0", E::ConfigInvalid);
  cfg("rms_norm_eps negative", "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": -1e-06", E::ConfigInvalid);
  cfg("rms_norm_eps beyond float", "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 1e300", E::ConfigInvalid);
  cfg("hidden_act not silu", "\"hidden_act\": \"silu\",\n  \"max_position", "\"hidden_act\": \"gelu\",\n  \"max_position",
      E::ConfigInvalid);
  cfg("sliding window on", "\"use_sliding_window\": false", "\"use_sliding_window\": true", E::ConfigInvalid);
  cfg("video_token_id outside the vocabulary", "\"video_token_id\": 343", "\"video_token_id\": 352", E::ConfigInvalid);
  cfg("video_token_id wrapping to a valid int32", "\"video_token_id\": 343", "\"video_token_id\": 4294967639",
      E::ConfigInvalid);
  cfg("image_token_id negative", "\"image_token_id\": 342", "\"image_token_id\": -1", E::ConfigInvalid);
  cfg("vision_start_token_id missing", "\"vision_start_token_id\": 339,", "", E::ConfigMissingKey);
  cfg("eos_token_id outside the vocabulary", "\"eos_token_id\": 332", "\"eos_token_id\": [332, 100000]",
      E::ConfigInvalid);
  cfg("eos_token_id a string", "\"eos_token_id\": 332", "\"eos_token_id\": \"<|im_end|>\"", E::ConfigInvalid);
  cfg("vision depth zero", "\"depth\": 4", "\"depth\": 0", E::ConfigInvalid);
  cfg("vision num_heads not dividing hidden", "\"num_heads\": 4", "\"num_heads\": 5", E::ConfigInvalid);
  cfg("vision in_channels 4", "\"in_channels\": 3", "\"in_channels\": 4", E::ConfigInvalid);
  cfg("vision patch_size 2^40", "\"patch_size\": 14", "\"patch_size\": 1099511627776", E::ConfigInvalid);
  cfg("vision patch_size zero", "\"patch_size\": 14", "\"patch_size\": 0", E::ConfigInvalid);
  cfg("vision spatial_merge_size 2^40", "\"spatial_merge_size\": 2", "\"spatial_merge_size\": 1099511627776",
      E::ConfigInvalid);
  cfg("vision temporal_patch_size negative", "\"temporal_patch_size\": 2", "\"temporal_patch_size\": -2",
      E::ConfigInvalid);
  cfg("vision window_size smaller than a cell", "\"window_size\": 56", "\"window_size\": 4", E::ConfigInvalid);
  cfg("vision window_size negative", "\"window_size\": 56", "\"window_size\": -56", E::ConfigInvalid);
  cfg("vision tokens_per_second zero", "\"tokens_per_second\": 2", "\"tokens_per_second\": 0", E::ConfigInvalid);
  cfg("vision fullatt block out of range", "\"fullatt_block_indexes\": [\n      1,", "\"fullatt_block_indexes\": [\n      4,",
      E::ConfigInvalid);
  cfg("vision out_hidden_size a lie", "\"out_hidden_size\": 64", "\"out_hidden_size\": 32", E::ConfigInvalid);
  // Lies the config checks cannot see: the tensors' shapes and names give them away, naming the weights file.
  auto lie = [&](std::string name, std::string from, std::string to, E code) {
    a("config.json lie: " + std::move(name), [from, to](const Folder& f) { edit(f.model / kConfig, from, to); }, code,
      kSingle);
  };
  lie("vocab_size", "\"vocab_size\": 352", "\"vocab_size\": 353", E::TensorShape);
  lie("intermediate_size", "\"intermediate_size\": 128", "\"intermediate_size\": 130", E::TensorShape);
  lie("num_key_value_heads", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 4", E::TensorShape);
  lie("num_hidden_layers", "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4", E::TensorMissing);
  lie("num_hidden_layers 2^31", "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2147483648", E::TensorMissing);
  lie("vision depth", "\"depth\": 4", "\"depth\": 5", E::TensorMissing);
  lie("vision depth 2^31", "\"depth\": 4", "\"depth\": 2147483648", E::TensorMissing);
  lie("vision intermediate_size", "\"intermediate_size\": 96", "\"intermediate_size\": 100", E::TensorShape);

  // ---- preprocessor_config.json ----------------------------------------------------------------------------------
  auto pre = [&](std::string name, std::function<void(const fs::path&)> fn, E code) {
    a("preprocessor_config.json: " + std::move(name), [fn](const Folder& f) { fn(f.model / kPre); }, code, kPre);
  };
  auto pre_edit = [&](std::string name, std::string from, std::string to, E code) {
    pre(std::move(name), [from, to](const fs::path& p) { edit(p, from, to); }, code);
  };
  pre("zero bytes", [](const fs::path& p) { write_all(p, ""); }, E::InvalidJson);
  pre("not JSON", [](const fs::path& p) { write_all(p, "\x89PNG\r\n\x1a\n"); }, E::InvalidJson);
  pre("a JSON number", [](const fs::path& p) { write_all(p, "14"); }, E::ConfigInvalid);
  pre("a FIFO (must not block)", [](const fs::path& p) { make_fifo(p); }, E::FileUnreadable);
  a("preprocessor_config.json: a link out of the folder", [](const Folder& f) { link_to(f.model / kPre, f.outside / kPre); },
    E::OutsideFolder, kPre);
  pre_edit("patch_size disagreeing with config.json", "\"patch_size\": 14", "\"patch_size\": 16", E::ConfigInvalid);
  pre_edit("merge_size zero", "\"merge_size\": 2", "\"merge_size\": 0", E::ConfigInvalid);
  pre_edit("image_std zero", "0.26862954", "0", E::ConfigInvalid);
  pre_edit("image_mean beyond float", "0.48145466", "1e300", E::ConfigInvalid);
  pre_edit("image_mean two entries", "0.48145466,\n", "", E::ConfigInvalid);
  pre_edit("min_pixels above max_pixels", "\"min_pixels\": 3136", "\"min_pixels\": 12845057", E::ConfigInvalid);
  pre_edit("max_pixels negative", "\"max_pixels\": 12845056", "\"max_pixels\": -1", E::ConfigInvalid);

  // ---- sharded folders: the index and its shards ------------------------------------------------------------
  auto index = [&](std::string name, std::function<void(const fs::path&)> fn, E code, std::string file = kIndex) {
    b("index: " + std::move(name), [fn](const Folder& f) { fn(f.model / kIndex); }, code, std::move(file));
  };
  index("zero bytes", [](const fs::path& p) { write_all(p, ""); }, E::InvalidJson);
  index("not JSON", [](const fs::path& p) { write_all(p, "weight_map:\n"); }, E::InvalidJson);
  index("weight_map missing", [](const fs::path& p) { write_all(p, R"({"metadata": {}})"); }, E::InvalidHeader);
  index("weight_map a list", [](const fs::path& p) { write_all(p, R"({"weight_map": ["a"]})"); }, E::InvalidHeader);
  index("weight_map empty", [](const fs::path& p) { write_all(p, R"({"weight_map": {}})"); }, E::TensorMissing);
  index("a shard name that is a number", [](const fs::path& p) { edit(p, kNormEntry, "\"model.norm.weight\": 2"); },
        E::InvalidHeader);
  index("a shard path climbing out", [](const fs::path& p) {
    edit(p, kNormEntry, "\"model.norm.weight\": \"../outside/" + kShard2 + "\"");
  }, E::InvalidHeader);
  index("an absolute shard path", [](const fs::path& p) {
    edit(p, kNormEntry, "\"model.norm.weight\": \"/etc/passwd\"");
  }, E::InvalidHeader);
  index("a shard named ..", [](const fs::path& p) { edit(p, kNormEntry, "\"model.norm.weight\": \"..\""); },
        E::InvalidHeader);
  index("a shard named with a NUL", [](const fs::path& p) {
    edit(p, kNormEntry, "\"model.norm.weight\": \"a\\u0000b\"");
  }, E::InvalidHeader);
  index("a shard that is not there", [](const fs::path& p) {
    edit(p, kNormEntry, "\"model.norm.weight\": \"model-00003-of-00002.safetensors\"");
  }, E::FileNotFound, "model-00003-of-00002.safetensors");
  index("a tensor its shard lacks", [](const fs::path& p) { edit(p, "\"model.norm.weight\"", "\"model.norm.weights\""); },
        E::TensorMissing, kShard1);
  index("a tensor listed twice", [](const fs::path& p) {
    edit(p, kNormEntry,
         kNormEntry + ", " + kNormEntry);
  }, E::InvalidJson);
  index("a link out of the folder", [](const fs::path& p) { link_to(p, p.parent_path().parent_path() / "outside" / kIndex); },
        E::OutsideFolder);
  b("shard absent", [](const Folder& f) { fs::remove(f.model / kShard2); }, E::FileNotFound, kShard2);
  b("shard zero bytes", [](const Folder& f) { write_all(f.model / kShard2, ""); }, E::TruncatedFile, kShard2);
  b("shard truncated", [](const Folder& f) {
    write_all(f.model / kShard1, read_all(f.model / kShard1).substr(0, fs::file_size(f.model / kShard1) - 100));
  }, E::TruncatedFile, kShard1);
  b("shard a link out of the folder", [](const Folder& f) { link_to(f.model / kShard1, f.outside / kShard1); },
    E::OutsideFolder, kShard1);
  b("shard a FIFO (must not block)", [](const Folder& f) { make_fifo(f.model / kShard2); }, E::FileUnreadable, kShard2);
  b("shard header length past the file", [](const Folder& f) {
    std::string bytes = read_all(f.model / kShard2);
    bytes.replace(0, 8, u64_le(bytes.size()));
    write_all(f.model / kShard2, bytes);
  }, E::HeaderBeyondFile, kShard2);
  b("shards swapped", [](const Folder& f) {
    fs::rename(f.model / kShard1, f.model / "tmp");
    fs::rename(f.model / kShard2, f.model / kShard1);
    fs::rename(f.model / "tmp", f.model / kShard2);
  }, E::TensorMissing, kShard1);
  b("a tensor in two shards under both namings", [](const Folder& f) {
    edit_entries(f.model / kShard1, [](std::vector<Entry>& e) {
      Entry copy;
      set_entry(e, "model.embed_tokens.weight", [&](Entry& x) { copy = x; });
      copy.name = "model.language_model.embed_tokens.weight";
      e.push_back(copy);
    });
    edit(f.model / kIndex, "\"model.embed_tokens.weight\": \"" + kShard1 + "\"",
         "\"model.embed_tokens.weight\": \"" + kShard1 + "\", \"model.language_model.embed_tokens.weight\": \"" +
             kShard1 + "\"");
  }, E::InvalidHeader, kShard1);
  return c;
}

// Whether the load failed as the case expects: the typed error, naming the file. Anything else is lost.
bool survives(const Case& c, const fs::path& model, std::string& why) {
  try {
    (void)Model::load(model);
    why = "loaded without an error";
  } catch (const mmi::runtime::Error& e) {
    if (e.code() != c.code) {
      why = "expected " + std::string(mmi::runtime::error_code_name(c.code)) + ", got " + e.what();
    } else if (std::string(e.what()).find(c.file) == std::string::npos) {
      why = "the message does not name " + c.file + ": " + e.what();
    } else {
      return true;
    }
  } catch (const std::exception& e) {
    why = std::string("untyped error: ") + e.what();
  }
  return false;
}

}  // namespace

TEST(every_hostile_model_folder_gives_a_typed_error_naming_the_file) {
  const std::vector<Case> all = cases();
  int survived = 0;
  int lost = 0;
  for (const Case& c : all) {
    fixtures::ScratchDir dir("hostile");
    const Folder f = copy_of(dir, c.fixture);
    c.damage(f);
    std::string why;
    if (survives(c, f.model, why)) {
      ++survived;
    } else {
      ++lost;
      CHECK(false) << c.name << ": " << why;
    }
  }
  std::printf("hostile model folders: %zu tried, %d survived, %d lost\n", all.size(), survived, lost);
  CHECK(all.size() >= 100) << "only " << all.size() << " cases";
}

// The links that must keep working: inside the folder, and a Hugging Face cache snapshot's links into blobs/.
TEST(links_inside_the_folder_and_into_a_cache_snapshots_blobs_load) {
  {
    fixtures::ScratchDir dir("inner-link");
    const Folder f = copy_of(dir, "tiny-a");
    fs::create_directory(f.model / "weights");
    fs::rename(f.model / kSingle, f.model / "weights" / "w.safetensors");
    fs::create_symlink(fs::path("weights") / "w.safetensors", f.model / kSingle);
    CHECK(Model::load(f.model)->info().tensors > 0);
  }
  {
    fixtures::ScratchDir dir("hf-cache");
    const fs::path repo = dir.path() / "models--tiny--a";
    const fs::path snapshot = repo / "snapshots" / "0123abcd";
    fs::create_directories(snapshot);
    fs::create_directories(repo / "blobs");
    int n = 0;
    for (const auto& entry : fs::directory_iterator(fixtures::dir("tiny-a/model"))) {
      const std::string blob = "blob" + std::to_string(n++);
      fs::copy_file(entry.path(), repo / "blobs" / blob);
      fs::create_symlink(fs::path("..") / ".." / "blobs" / blob, snapshot / entry.path().filename());
    }
    CHECK(Model::load(snapshot)->info().tensors > 0);
    // The cache's other folders are not blobs/: a link there leads out of the folder.
    fs::create_directories(repo / "refs");
    fs::copy_file(fixtures::dir("tiny-a/model") / kConfig, repo / "refs" / kConfig);
    link_to(snapshot / kConfig, fs::path("..") / ".." / "refs" / kConfig);
    CHECK_THROWS_ERROR(Model::load(snapshot), ErrorCode::OutsideFolder, kConfig);
  }
}
