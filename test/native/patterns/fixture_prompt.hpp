// The tiny Qwen2.5-VL fixtures as calibration/pre-fill inputs: the reference prompt (ids, positions, grid, pixel
// values) and logits from reference.safetensors, and a longer prompt (the same video followed by more text) whose
// length spans several 64-token blocks, so sparse patterns differ from dense.
#pragma once

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixture_paths.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/safetensors.hpp"

namespace fixture {

using namespace mmi::qwen2_5_vl;

struct Prompt {
  std::vector<std::int32_t> ids;
  std::vector<std::int64_t> positions;  // 3 × n
  GridTHW grid;
};

struct Fixture {
  std::string name;
  std::filesystem::path model_dir;
  std::unique_ptr<Model> model;
  PixelValues pixels;
  std::vector<float> features;
  Prompt prompt;
  std::vector<float> reference_last_logits;  // transformers' logits of the prompt's last token
};

inline std::vector<float> read_f32(const mmi::runtime::SafetensorsFile& f, const std::string& key) {
  const auto* t = f.find(key);
  if (t == nullptr || t->dtype != mmi::runtime::Dtype::F32) throw std::runtime_error("reference lacks F32 " + key);
  std::vector<float> out(static_cast<std::size_t>(t->numel()));
  std::memcpy(out.data(), f.bytes(*t).data(), out.size() * sizeof(float));
  return out;
}

inline std::vector<std::int64_t> read_i64(const mmi::runtime::SafetensorsFile& f, const std::string& key) {
  const auto* t = f.find(key);
  if (t == nullptr || t->dtype != mmi::runtime::Dtype::I64) throw std::runtime_error("reference lacks I64 " + key);
  std::vector<std::int64_t> out(static_cast<std::size_t>(t->numel()));
  std::memcpy(out.data(), f.bytes(*t).data(), out.size() * sizeof(std::int64_t));
  return out;
}

inline Fixture load(const std::string& name, int threads = 2) {
  Fixture fx;
  fx.name = name;
  fx.model_dir = fixtures::dir(name) / "model";
  fx.model = Model::load(fx.model_dir, LoadOptions{threads, 1, 512});
  const auto ref = mmi::runtime::SafetensorsFile::open(fixtures::dir(name) / "reference.safetensors");
  for (auto id : read_i64(ref, "input_ids")) fx.prompt.ids.push_back(static_cast<std::int32_t>(id));
  fx.prompt.positions = read_i64(ref, "position_ids");
  const auto g = read_i64(ref, "video_grid_thw");
  fx.prompt.grid = {g[0], g[1], g[2]};
  fx.pixels = {read_f32(ref, "pixel_values"), fx.prompt.grid};
  fx.features = fx.model->encode_video(fx.pixels);
  const auto logits = read_f32(ref, "logits");
  const auto vocab = static_cast<std::ptrdiff_t>(fx.model->config().text.vocab);
  fx.reference_last_logits.assign(logits.end() - vocab, logits.end());
  return fx;
}

// The prompt followed by `extra` text tokens (ids cycling through the low vocabulary, positions continuing).
inline Prompt longer(const Fixture& fx, std::int64_t extra) {
  const auto n = static_cast<std::int64_t>(fx.prompt.ids.size());
  Prompt p;
  p.grid = fx.prompt.grid;
  p.ids = fx.prompt.ids;
  std::int64_t next = 0;
  for (auto v : fx.prompt.positions) next = std::max(next, v + 1);
  for (std::int64_t i = 0; i < extra; ++i) p.ids.push_back(static_cast<std::int32_t>(1 + (7 * i) % 200));
  for (int row = 0; row < 3; ++row) {
    const auto* src = fx.prompt.positions.data() + row * n;
    p.positions.insert(p.positions.end(), src, src + n);
    for (std::int64_t i = 0; i < extra; ++i) p.positions.push_back(next + i);
  }
  return p;
}

inline PrefillInput input(const Fixture& fx, const Prompt& p, const PrefillAttention* attention) {
  PrefillInput in;
  in.ids = p.ids;
  in.positions = p.positions;
  in.video_features = fx.features;
  in.video_grids = {p.grid};
  in.attention = attention;
  return in;
}

inline std::vector<float> prefill(const Fixture& fx, const Prompt& p, const PrefillAttention* attention,
                                  const RunControl& control = {}) {
  Session s(*fx.model);
  return s.prefill(input(fx, p, attention), control);
}

// max |a - b| / max |b|.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1e30;
  double diff = 0.0, mag = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    mag = std::max(mag, std::abs(double(b[i])));
  }
  return diff / std::max(mag, 1e-30);
}

}  // namespace fixture
