// The attention core's views of the C API's operands, with errors (mmi::attention::Error, InvalidArgument) that name
// the argument: shared by the attention entry points and the pattern search's q/k inputs.
#pragma once

#include <cstdint>

#include "mmi.h"
#include "mmi/attention/layout.hpp"
#include "mmi/attention/tensor.hpp"

namespace mmi::capi {

inline constexpr int64_t kMaxHeads = 1 << 16;

void not_null(const void* p, const char* name);
// A tensor's view after checking its dtype, shape and length.
attention::HeadsView view_of(const mmi_tensor* t, const char* name);
// The modality layout of `tokens` tokens (tokens < 0: any); NULL segments with count 0: all text.
attention::ModalityLayout layout_of(const mmi_segment* segments, int64_t count, int64_t tokens);

}  // namespace mmi::capi
