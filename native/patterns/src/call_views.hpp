// The runtime's per-head attention call seen through the attention core's types: one-head views of q/k/v/out, the
// modality layout of the sequence, and the core's errors as the runtime's.
#pragma once

#include <cstdint>
#include <vector>

#include "mmi/attention/control.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/layout.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/runtime/prefill_hooks.hpp"

namespace mmi::patterns::detail {

struct CallViews {
  attention::HeadsView q, k, v;  // one head each; q holds the call's n_q rows, k/v the whole sequence
  attention::OutputView out;
};
CallViews views_of(const runtime::AttentionCall& call);

// The core's layout of the first n tokens of the runtime's sequence layout.
attention::ModalityLayout layout_of(const std::vector<runtime::Segment>* segments, std::int64_t n);

// Throws mmi::runtime::Error(Cancelled) when the flag is raised.
void check_cancel(const std::atomic<bool>* cancel);

// The core's error as the runtime raises its own attention errors: Cancelled, NonFinite, else Internal (shapes and
// budgets reaching the core are ours to get right).
[[noreturn]] void rethrow_as_runtime(const attention::Error& e, std::int64_t layer, std::int64_t head);

}  // namespace mmi::patterns::detail
