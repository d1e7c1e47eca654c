// Modality layouts: valid prompts are described exactly; every malformed one is refused with a message naming the
// segment and the field.
#include <string>

#include "check.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/layout.hpp"

using namespace mmi::attention;

namespace {

std::string error_of(std::vector<Segment> segments, int64_t n) {
  try {
    ModalityLayout::make(segments, n);
  } catch (const Error& e) {
    return e.code() == ErrorCode::InvalidArgument ? e.what() : "wrong code";
  }
  return "no error";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(layout_describes_text_and_video_runs) {
  const Segment segments[] = {Segment::text(10), Segment::video(3, 4, 5), Segment::text(7), Segment::video(1, 2, 2)};
  const ModalityLayout layout = ModalityLayout::make(segments, 10 + 60 + 7 + 4);
  CHECK(layout.n() == 81);
  CHECK(layout.video_tokens() == 64 && layout.text_tokens() == 17);
  CHECK((layout.starts() == std::vector<int64_t>{0, 10, 70, 77, 81}));
  CHECK(layout.video_runs().size() == 2);
  CHECK(layout.video_runs()[0].start == 10 && layout.video_runs()[0].period() == 20 && layout.video_runs()[0].length() == 60);
  CHECK(layout.video_runs()[1].start == 77 && layout.video_runs()[1].period() == 4);
  CHECK(layout.modality(9) == Modality::text && layout.modality(10) == Modality::video);
  CHECK(layout.modality(69) == Modality::video && layout.modality(70) == Modality::text);
  CHECK(layout.modality(80) == Modality::video);
  CHECK(ModalityLayout::text_only(5).video_runs().empty());
  CHECK(ModalityLayout::make(segments).n() == 81) << "n = -1 skips the total check";
}

TEST(layout_rejects_malformed_segments) {
  CHECK(contains(error_of({}, 0), "no segments"));
  CHECK(contains(error_of({Segment::text(0)}, 0), "segment 0 (text): tokens must be positive"));
  CHECK(contains(error_of({Segment::text(-3)}, -1), "tokens must be positive"));
  CHECK(contains(error_of({Segment::text(4), Segment::video(0, 2, 2)}, 4), "segment 1 (video): t must be positive"));
  CHECK(contains(error_of({Segment::video(2, -1, 2)}, 4), "h must be positive"));
  CHECK(contains(error_of({Segment::video(2, 2, 0)}, 4), "w must be positive"));
  CHECK(contains(error_of({Segment::video(int64_t{1} << 21, 1, 1)}, -1), "above 2^20"));
  CHECK(contains(error_of({Segment::video(1 << 20, 1 << 20, 1 << 20)}, -1), "more than 2^31"));
  CHECK(contains(error_of({Segment::text(int64_t{1} << 40)}, -1), "more than 2^31"));
  CHECK(contains(error_of({Segment::text(5), Segment::video(1, 2, 2)}, 10), "covers 9 tokens but the input has 10"));
  Segment odd = Segment::text(3);
  odd.modality = static_cast<Modality>(7);
  CHECK(contains(error_of({odd}, 3), "unknown modality"));
  CHECK_THROWS_CODE(ModalityLayout::text_only(4).modality(4), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(ModalityLayout::text_only(4).modality(-1), ErrorCode::InvalidArgument);
}
