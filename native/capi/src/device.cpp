#include "device.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "mmi/runtime/errors.hpp"

#ifdef MMI_HAVE_CUDA
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/cuda/gemm.hpp"
#endif

namespace mmi::capi {

using runtime::Error;
using runtime::ErrorCode;

Devices devices() {
  Devices d;
  d.cpu_threads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
  d.detail = "CPU, " + std::to_string(d.cpu_threads) + " hardware threads";
#ifdef MMI_HAVE_CUDA
  d.cuda_built = 1;
  std::string why;
  d.gpu_count = runtime::cuda::gpu_count(&why);
  if (d.gpu_count == 0) {
    d.detail += "; " + why;  // "no usable GPU: <the CUDA runtime's reason>" or "no GPU found"
    return d;
  }
  d.detail += "; " + std::to_string(d.gpu_count) + " GPU(s): " + runtime::cuda::device_description();
  d.gpu_usable = runtime::cuda::cublaslt_available(&why);
  d.detail += d.gpu_usable ? ", " + runtime::cuda::cublaslt_description() : "; but no cuBLASLt: " + why;
#else
  d.detail += "; this build has no CUDA code";
#endif
  return d;
}

std::string device_override() {
  const char* raw = std::getenv("MMI_DEVICE");
  std::string value = raw != nullptr ? raw : "";
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  if (value.empty() || value == "cpu" || value == "gpu" || value == "auto") return value == "auto" ? "" : value;
  throw Error(ErrorCode::InvalidInput, "", "MMI_DEVICE", "must be cpu, gpu or auto, got '" + std::string(raw) + "'");
}

namespace {

void check_device(int32_t requested) {
  if (requested != MMI_DEVICE_AUTO && requested != MMI_DEVICE_CPU && requested != MMI_DEVICE_GPU) {
    throw Error(ErrorCode::InvalidInput, "", "device",
                "must be MMI_DEVICE_AUTO, MMI_DEVICE_CPU or MMI_DEVICE_GPU, got " + std::to_string(requested));
  }
}

}  // namespace

mmi_device resolve_device(int32_t requested, const Devices& devices) {
  check_device(requested);
  if (requested != MMI_DEVICE_AUTO) return static_cast<mmi_device>(requested);
  const std::string forced = device_override();
  if (forced == "cpu") return MMI_DEVICE_CPU;
  if (forced == "gpu") return MMI_DEVICE_GPU;
  return devices.gpu_usable ? MMI_DEVICE_GPU : MMI_DEVICE_CPU;
}

runtime::Backend model_backend(int32_t requested) {
  check_device(requested);
  const std::string forced = requested == MMI_DEVICE_AUTO ? device_override() : "";
  if (requested == MMI_DEVICE_CPU || forced == "cpu") return runtime::Backend::Cpu;
  if (requested == MMI_DEVICE_GPU || forced == "gpu") return runtime::Backend::Cuda;
  return runtime::Backend::Auto;
}

bool on_gpu(const mmi_model& model) { return model.model->info().backend.rfind("cuda", 0) == 0; }

}  // namespace mmi::capi
