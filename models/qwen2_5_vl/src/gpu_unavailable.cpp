// The GPU backend of a build without the CUDA toolkit: there is none, and the error says so.
#include "gpu_backend.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl {

namespace {
constexpr const char* kWhy = "this build of the engine has no CUDA backend (the CUDA toolkit was not found when it was built)";
}

bool gpu_backend_usable(std::string* why) {
  if (why) *why = kWhy;
  return false;
}

std::unique_ptr<GpuModel> load_gpu_model(const runtime::ModelFolder&, const Config&, const LoadOptions&) {
  throw runtime::Error(runtime::ErrorCode::DeviceUnavailable, "", "gpu", kWhy);
}

}  // namespace mmi::qwen2_5_vl
