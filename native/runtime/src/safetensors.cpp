#include "mmi/runtime/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/json.hpp"

namespace mmi::runtime {

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const Json& entry,
                       const SafetensorsLimits& limits) {
  auto bad = [&](const std::string& what) { return Error(ErrorCode::InvalidHeader, file, name, what); };
  if (!entry.is_object()) throw bad("entry is not an object");
  TensorInfo t;
  t.name = name;
  const Json* dtype = entry.find("dtype");
  if (dtype == nullptr || !dtype->is_string()) throw bad("missing or non-string dtype");
  auto d = parse_dtype(*dtype->as_string());
  if (!d) throw Error(ErrorCode::TensorDtype, file, name, "unknown dtype '" + *dtype->as_string() + "'");
  t.dtype = *d;

  const Json* shape = entry.find("shape");
  if (shape == nullptr || !shape->is_array()) throw bad("missing or non-array shape");
  if (shape->as_array()->size() > limits.max_rank) throw bad("rank above " + std::to_string(limits.max_rank));
  std::uint64_t numel = 1;
  for (const Json& dim : *shape->as_array()) {
    auto v = dim.as_int();
    if (!v || *v < 0) throw bad("shape entries must be non-negative integers");
    t.shape.push_back(*v);
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(*v), &numel)) throw bad("shape size overflows");
  }
  std::uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(t.dtype)), &nbytes)) {
    throw bad("byte size overflows");
  }

  const Json* offsets = entry.find("data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->as_array()->size() != 2) {
    throw bad("data_offsets must be [begin, end]");
  }
  auto b = (*offsets->as_array())[0].as_int();
  auto e = (*offsets->as_array())[1].as_int();
  if (!b || !e || *b < 0 || *e < *b) throw bad("data_offsets must be integers with 0 <= begin <= end");
  t.begin = static_cast<std::uint64_t>(*b);
  t.end = static_cast<std::uint64_t>(*e);
  if (t.end - t.begin != nbytes) {
    throw Error(ErrorCode::TensorShape, file, name,
                "data_offsets span " + std::to_string(t.end - t.begin) + " bytes but dtype and shape need " +
                    std::to_string(nbytes));
  }
  return t;
}

}  // namespace

SafetensorsLayout parse_safetensors(std::span<const std::byte> bytes, const std::string& file,
                                    const SafetensorsLimits& limits) {
  SafetensorsLayout f;
  if (bytes.size() < 8) {
    throw Error(ErrorCode::TruncatedFile, file, "", "shorter than the 8-byte header length");
  }
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > limits.max_header_bytes) {
    throw Error(ErrorCode::HeaderTooLarge, file, "",
                "header length " + std::to_string(header_len) + " exceeds the limit of " +
                    std::to_string(limits.max_header_bytes) + " bytes");
  }
  if (header_len > bytes.size() - 8) {
    throw Error(ErrorCode::HeaderBeyondFile, file, "",
                "header length " + std::to_string(header_len) + " runs past the end of the " +
                    std::to_string(bytes.size()) + "-byte file");
  }
  f.data_start = 8 + header_len;
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), header_len);

  Json root;
  try {
    root = Json::parse(header);
  } catch (const JsonError& e) {
    throw Error(ErrorCode::InvalidHeader, file, "", e.what());
  }
  if (!root.is_object()) throw Error(ErrorCode::InvalidHeader, file, "", "header is not a JSON object");

  for (const auto& [name, entry] : *root.as_object()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(ErrorCode::InvalidHeader, file, name, "__metadata__ is not an object");
      for (const auto& [k, v] : *entry.as_object()) {
        if (!v.is_string()) throw Error(ErrorCode::InvalidHeader, file, name, "metadata value '" + k + "' is not a string");
        f.metadata[k] = *v.as_string();
      }
      continue;
    }
    f.tensors.push_back(parse_entry(file, name, entry, limits));
  }

  const std::uint64_t data_size = bytes.size() - f.data_start;
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(f.tensors.size());
  for (const auto& t : f.tensors) {
    if (t.end > data_size) {
      throw Error(ErrorCode::TruncatedFile, file, t.name,
                  "data ends at byte " + std::to_string(f.data_start + t.end) + " of a " +
                      std::to_string(bytes.size()) + "-byte file");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin == t->end) continue;  // empty tensors own no bytes
    if (prev != nullptr && t->begin < prev->end) {
      throw Error(ErrorCode::TensorOverlap, file, t->name, "bytes overlap those of '" + prev->name + "'");
    }
    prev = t;
  }
  std::sort(f.tensors.begin(), f.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path, const SafetensorsLimits& limits) {
  SafetensorsFile f;
  f.path_ = path;
  f.file_ = MappedFile::open(path);
  SafetensorsLayout layout = parse_safetensors(f.file_.bytes(), path.string(), limits);
  f.data_start_ = layout.data_start;
  f.tensors_ = std::move(layout.tensors);
  f.metadata_ = std::move(layout.metadata);
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  if (it == tensors_.end() || it->name != name) return nullptr;
  return &*it;
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& t) const {
  return file_.bytes().subspan(static_cast<std::size_t>(data_start_ + t.begin), static_cast<std::size_t>(t.end - t.begin));
}

}  // namespace mmi::runtime
