#include "call_views.hpp"

#include <string>

#include "mmi/runtime/errors.hpp"

namespace mmi::patterns::detail {

namespace att = mmi::attention;

CallViews views_of(const runtime::AttentionCall& c) {
  const std::int64_t n = c.q_begin + c.n_q;
  CallViews v;
  v.q = att::HeadsView{c.q, att::DType::f32, 1, c.n_q, c.head_dim, 0, c.q_stride};
  v.k = att::HeadsView{c.k, att::DType::f32, 1, n, c.head_dim, 0, c.kv_stride};
  v.v = att::HeadsView{c.v, att::DType::f32, 1, n, c.head_dim, 0, c.kv_stride};
  v.out = att::OutputView{c.out, 1, c.n_q, c.head_dim, 0, c.out_stride};
  return v;
}

att::ModalityLayout layout_of(const std::vector<runtime::Segment>* segments, std::int64_t n) {
  if (segments == nullptr || segments->empty()) return att::ModalityLayout::text_only(n);
  std::vector<att::Segment> out;
  std::int64_t covered = 0;
  for (const runtime::Segment& s : *segments) {
    if (covered >= n) break;
    if (s.kind == runtime::Segment::Kind::Video) {
      out.push_back(att::Segment::video(s.t, s.h, s.w));
    } else {
      out.push_back(att::Segment::text(s.length));
    }
    covered += s.length;
  }
  return att::ModalityLayout::make(out, n);
}

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    throw runtime::Error(runtime::ErrorCode::Cancelled, "", "", "cancelled by the caller");
  }
}

void rethrow_as_runtime(const att::Error& e, std::int64_t layer, std::int64_t head) {
  const runtime::ErrorCode code = e.code() == att::ErrorCode::Cancelled   ? runtime::ErrorCode::Cancelled
                                  : e.code() == att::ErrorCode::NonFinite ? runtime::ErrorCode::NonFinite
                                                                          : runtime::ErrorCode::Internal;
  throw runtime::Error(code, "", "attention", "layer " + std::to_string(layer) + " head " + std::to_string(head) + ": " + e.what());
}

}  // namespace mmi::patterns::detail
