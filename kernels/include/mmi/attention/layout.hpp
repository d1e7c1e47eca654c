// The modality layout of a prompt (docs/algorithm.md §1): ordered segments, each a text run of some tokens or a video
// run of t temporal patches of h×w tokens in raster order (patch-major: token f*h*w + y*w + x). Built only through
// make(), which validates and says exactly which segment is wrong.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace mmi::attention {

enum class Modality : uint8_t { text = 0, video = 1 };

struct Segment {
  Modality modality = Modality::text;
  int64_t tokens = 0;            // text: its length; video: ignored (t*h*w)
  int64_t t = 0, h = 0, w = 0;   // video: temporal patches and the token grid of one patch

  static Segment text(int64_t tokens) { return Segment{Modality::text, tokens, 0, 0, 0}; }
  static Segment video(int64_t t, int64_t h, int64_t w) { return Segment{Modality::video, 0, t, h, w}; }
};

struct VideoRun {
  int64_t start = 0;  // first token
  int64_t t = 0, h = 0, w = 0;
  int64_t period() const { return h * w; }  // tokens per temporal patch
  int64_t length() const { return t * h * w; }
};

class ModalityLayout {
 public:
  ModalityLayout() = default;

  // Throws Error(InvalidArgument) for: no segments, a text run of <= 0 tokens, a video run with t, h or w <= 0 or
  // above 2^20, lengths that overflow, or a total that differs from n (when n >= 0; n = -1 skips that check).
  static ModalityLayout make(std::span<const Segment> segments, int64_t n = -1);
  // One text run of n tokens: the layout of a prompt with no video.
  static ModalityLayout text_only(int64_t n);

  int64_t n() const { return n_; }
  const std::vector<Segment>& segments() const { return segments_; }
  const std::vector<int64_t>& starts() const { return starts_; }  // first token of each segment, then n
  const std::vector<VideoRun>& video_runs() const { return video_runs_; }
  Modality modality(int64_t token) const;
  int64_t text_tokens() const { return n_ - video_tokens_; }
  int64_t video_tokens() const { return video_tokens_; }

 private:
  std::vector<Segment> segments_;
  std::vector<int64_t> starts_;
  std::vector<VideoRun> video_runs_;
  int64_t n_ = 0;
  int64_t video_tokens_ = 0;
};

}  // namespace mmi::attention
