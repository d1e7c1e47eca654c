#include "views.hpp"

#include <string>
#include <vector>

#include "mmi/attention/error.hpp"

namespace mmi::capi {

namespace at = mmi::attention;

void not_null(const void* p, const char* name) { at::require(p != nullptr, std::string(name) + " is null"); }

at::HeadsView view_of(const mmi_tensor* t, const char* name) {
  not_null(t, name);
  const std::string who(name);
  at::require(t->dtype == MMI_F32 || t->dtype == MMI_F16 || t->dtype == MMI_BF16,
              who + " has an unknown dtype " + std::to_string(t->dtype));
  at::require(t->heads > 0 && t->heads <= kMaxHeads, who + " heads must be in [1, 65536], got " + std::to_string(t->heads));
  at::require(t->tokens > 0 && t->tokens < (int64_t{1} << 31),
              who + " tokens must be in [1, 2^31), got " + std::to_string(t->tokens));
  at::require(t->dim > 0 && t->dim <= at::kMaxHeadDim, who + " head dim must be in [1, 256], got " + std::to_string(t->dim));
  at::require(t->length == t->heads * t->tokens * t->dim,
              who + " holds " + std::to_string(t->length) + " elements but its shape [" + std::to_string(t->heads) +
                  ", " + std::to_string(t->tokens) + ", " + std::to_string(t->dim) + "] needs " +
                  std::to_string(t->heads * t->tokens * t->dim));
  not_null(t->data, (who + " data").c_str());
  return at::HeadsView{t->data, static_cast<at::DType>(t->dtype), t->heads, t->tokens, t->dim, 0, 0};
}

at::ModalityLayout layout_of(const mmi_segment* segments, int64_t count, int64_t tokens) {
  if (segments == nullptr && count == 0) return at::ModalityLayout::text_only(tokens);
  not_null(segments, "segments");
  at::require(count > 0 && count <= (1 << 20), "segment count must be in [1, 2^20], got " + std::to_string(count));
  std::vector<at::Segment> segs;
  for (int64_t i = 0; i < count; ++i) {
    const mmi_segment& s = segments[i];
    at::require(s.modality == MMI_TEXT || s.modality == MMI_VIDEO,
                "layout segment " + std::to_string(i) + " has an unknown modality " + std::to_string(s.modality));
    segs.push_back(s.modality == MMI_TEXT ? at::Segment::text(s.tokens) : at::Segment::video(s.t, s.h, s.w));
  }
  return at::ModalityLayout::make(segs, tokens);
}

}  // namespace mmi::capi
