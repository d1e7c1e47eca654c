// The attention core's C API calls on the GPU (kernels/cuda): where a call runs, and for what the GPU kernels take,
// upload, run, download. mmi_run_options.device AUTO (or MMI_DEVICE=auto) sends 16-bit inputs to the GPU when one is
// present and keeps fp32 inputs on the CPU, at their precision; GPU rounds fp32 inputs to bf16 and refuses what the
// GPU kernels do not take; CPU (or MMI_DEVICE=cpu) never uses the GPU. The GPU kernels take causal attention with
// queries = keys over one segment at head dims 64, 80 and 128 (dense and sparse) and heatmaps at any head dim;
// non-causal, segmented or offset calls run on the CPU under AUTO.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "mmi.h"
#include "mmi/attention/dense.hpp"
#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::capi::gpu_attention {

// Each returns true (or the heatmaps) when it ran the call on the GPU, false (nullopt) when the CPU should. Throws
// runtime::Error(DeviceUnavailable) when the GPU was asked for and there is none, (InvalidInput) when it was asked
// for a call its kernels do not take; attention::Error for the operands, as the CPU core would.
bool dense(const attention::HeadsView& q, const attention::HeadsView& k, const attention::HeadsView& v,
           const attention::OutputView& out, const attention::DenseOptions& options, const mmi_run_options* run);
bool sparse(const attention::HeadsView& q, const attention::HeadsView& k, const attention::HeadsView& v,
            const std::vector<SparseIndex>& index, const attention::OutputView& out,
            const attention::SparseOptions& options, const mmi_run_options* run);
std::optional<std::vector<attention::Heatmap>> heatmaps(const attention::HeadsView& q, const attention::HeadsView& k,
                                                        const std::vector<SparseIndex>& index,
                                                        std::span<const int64_t> heads,
                                                        const attention::HeatmapOptions& options,
                                                        const mmi_run_options* run);

}  // namespace mmi::capi::gpu_attention
