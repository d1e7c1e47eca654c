// Where the C API's work runs: what this build and machine offer (CUDA code, GPUs, cuBLASLt for the model runtime)
// and the mmi_device choice, the MMI_DEVICE environment variable overriding AUTO.
#pragma once

#include <cstdint>
#include <string>

#include "handles.hpp"
#include "mmi.h"
#include "mmi/runtime/video_model.hpp"

namespace mmi::capi {

struct Devices {
  int32_t cuda_built = 0;
  int32_t gpu_count = 0;
  int32_t cpu_threads = 1;
  bool gpu_usable = false;  // the model runtime can run on the GPU
  std::string detail;       // one line for people: CPU threads, GPUs, or why there is no usable GPU
};
Devices devices();

// MMI_DEVICE as set, lower-cased ("" when unset or empty). Throws runtime::Error(InvalidInput) for a value other
// than cpu, gpu or auto.
std::string device_override();

// CPU or GPU for a request: CPU and GPU as asked; AUTO through MMI_DEVICE, then the GPU when usable.
mmi_device resolve_device(int32_t requested, const Devices& devices);

// The runtime's backend for a model load: Cpu or Cuda when the caller or MMI_DEVICE names one, else Auto (the
// runtime's own test for a usable GPU). Throws runtime::Error(InvalidInput) for an unknown device.
runtime::Backend model_backend(int32_t requested);

// Whether the model was loaded on the GPU.
bool on_gpu(const mmi_model& model);

}  // namespace mmi::capi
