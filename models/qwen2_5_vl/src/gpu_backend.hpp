// The GPU backend behind Model and Session (src/cuda/), as the engine sees it. Builds without CUDA link
// gpu_unavailable.cpp instead, whose load_gpu_model says why there is no GPU backend.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/model_folder.hpp"

namespace mmi::qwen2_5_vl {

// A pre-fill as the engine has validated it: n ids at cache rows [length, length + n), their 3 × n positions, the
// video rows (features or sources, in token order) and the layout of the whole sequence afterwards.
struct GpuPrefill {
  std::span<const std::int32_t> ids;
  std::span<const std::int64_t> positions;
  std::span<const float> video_features;
  std::span<const PixelSource> video_sources;
  const std::vector<Segment>* layout = nullptr;
  const HeadPatterns* patterns = nullptr;
  PrefillObserver* observer = nullptr;
  const HeatmapRequest* heatmaps = nullptr;
};

class GpuSession {
 public:
  virtual ~GpuSession() = default;
  // Appends the tokens; the last row's logits (every row's with a trace).
  virtual std::vector<float> prefill(const GpuPrefill& input, const RunControl& control, ForwardTrace* trace,
                                     RunStats* stats) = 0;
  // Feeds one token at the given position; its logits.
  virtual std::vector<float> step(std::int32_t token, std::int64_t position) = 0;
  // The greedy choice from the last logits, made on the GPU.
  virtual std::int32_t greedy() = 0;
  virtual std::int64_t length() const = 0;
  virtual void rewind(std::int64_t length) = 0;
};

class GpuModel {
 public:
  virtual ~GpuModel() = default;
  virtual std::vector<float> encode_video(const PixelValues& pixels, const RunControl& control,
                                          VisionTrace* trace) const = 0;
  virtual std::unique_ptr<GpuSession> session(std::int64_t kv_capacity) const = 0;
  virtual std::string description() const = 0;
};

// True when the GPU backend can run here; otherwise false with the reason.
bool gpu_backend_usable(std::string* why);
// Uploads the weights. Error(DeviceUnavailable) when there is no usable GPU backend, Error(OutOfMemory) when the
// weights do not fit.
std::unique_ptr<GpuModel> load_gpu_model(const runtime::ModelFolder& folder, const Config& config,
                                         const LoadOptions& options);

}  // namespace mmi::qwen2_5_vl
