#include "mmi/attention/layout.hpp"

#include <algorithm>
#include <string>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

namespace {

constexpr int64_t kMaxExtent = int64_t{1} << 20;  // per t, h, w: far above any real grid, keeps products in range
constexpr int64_t kMaxTokens = int64_t{1} << 31;  // the index stores positions as int32

std::string where(size_t i, const Segment& s) {
  return "layout segment " + std::to_string(i) + " (" + (s.modality == Modality::text ? "text" : "video") + ")";
}

}  // namespace

ModalityLayout ModalityLayout::make(std::span<const Segment> segments, int64_t n) {
  require(!segments.empty(), "layout has no segments");
  ModalityLayout layout;
  int64_t at = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    int64_t length = 0;
    if (s.modality == Modality::text) {
      require(s.tokens > 0, where(i, s) + ": tokens must be positive, got " + std::to_string(s.tokens));
      require(s.tokens <= kMaxTokens, where(i, s) + ": more than 2^31 tokens");
      length = s.tokens;
    } else if (s.modality == Modality::video) {
      for (auto [name, value] : {std::pair{"t", s.t}, std::pair{"h", s.h}, std::pair{"w", s.w}}) {
        require(value > 0, where(i, s) + ": " + name + " must be positive, got " + std::to_string(value));
        require(value <= kMaxExtent, where(i, s) + ": " + name + " = " + std::to_string(value) + " is above 2^20");
      }
      require(s.h * s.w <= kMaxTokens && s.t * s.h * s.w <= kMaxTokens,
              where(i, s) + ": " + std::to_string(s.t) + "×" + std::to_string(s.h) + "×" + std::to_string(s.w) +
                  " tokens is more than 2^31");
      length = s.t * s.h * s.w;
      layout.video_runs_.push_back(VideoRun{at, s.t, s.h, s.w});
      layout.video_tokens_ += length;
    } else {
      throw Error(ErrorCode::InvalidArgument,
                  "layout segment " + std::to_string(i) + " has an unknown modality " +
                      std::to_string(static_cast<int>(s.modality)));
    }
    layout.starts_.push_back(at);
    at += length;
    require(at <= kMaxTokens, "layout has more than 2^31 tokens");
  }
  layout.starts_.push_back(at);
  require(n < 0 || at == n, "layout covers " + std::to_string(at) + " tokens but the input has " + std::to_string(n));
  layout.segments_.assign(segments.begin(), segments.end());
  layout.n_ = at;
  return layout;
}

ModalityLayout ModalityLayout::text_only(int64_t n) {
  const Segment s = Segment::text(n);
  return make(std::span(&s, 1), n);
}

Modality ModalityLayout::modality(int64_t token) const {
  require(token >= 0 && token < n_, "token " + std::to_string(token) + " is outside the layout's " +
                                        std::to_string(n_) + " tokens");
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), token);
  const auto seg = static_cast<size_t>(it - starts_.begin()) - 1;
  return segments_[seg].modality;
}

}  // namespace mmi::attention
