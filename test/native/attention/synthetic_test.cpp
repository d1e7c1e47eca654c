// The synthetic generator: deterministic per seed, shaped as asked, finite, and with the structure it promises
// (sinks draw attention, spatio-temporal heads attend the same position in other patches, questions find needles).
#include <cmath>

#include "check.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/synthetic.hpp"
#include "support.hpp"

using namespace mmi::attention;

TEST(synthetic_is_deterministic_and_finite) {
  const ModalityLayout lay = synthetic_video_layout(700, 8, 12);
  const SyntheticSpec spec{lay, 8, 2, 80, 99, 4};
  const QKV a = synthetic_qkv(spec), b = synthetic_qkv(spec);
  CHECK(a.q == b.q && a.k == b.k && a.v == b.v) << "same seed, different data";
  RunControl one;
  one.threads = 1;
  const QKV serial = synthetic_qkv(spec, one);
  CHECK(serial.q == a.q && serial.k == a.k && serial.v == a.v) << "the data depend on the thread count";
  SyntheticSpec other = spec;
  other.seed = 100;
  CHECK(synthetic_qkv(other).q != a.q);
  CHECK(a.q.size() == 8u * 700 * 80 && a.k.size() == 2u * 700 * 80 && a.v.size() == a.k.size());
  for (float x : a.q) CHECK(std::isfinite(x));
  for (float x : a.k) CHECK(std::isfinite(x));
}

TEST(synthetic_layout_fits_n) {
  for (int64_t n : {2, 100, 500, 8192, 8193}) {
    const ModalityLayout lay = synthetic_video_layout(n);
    CHECK(lay.n() == n);
    if (n >= 64 + 96 + 384) {
      CHECK(lay.video_runs().size() == 1 && lay.segments().size() == 3);
      CHECK(lay.segments().back().modality == Modality::text && lay.segments().back().tokens >= 96);
    }
  }
  CHECK_THROWS_CODE(synthetic_video_layout(1), ErrorCode::InvalidArgument);
}

TEST(synthetic_has_video_structure) {
  const Segment segments[] = {Segment::text(16), Segment::video(6, 6, 8), Segment::text(40)};
  const ModalityLayout lay = ModalityLayout::make(segments);
  const QKV in = synthetic_qkv({lay, 4, 1, 128, 5, 4});
  const int64_t n = lay.n(), period = 48, start = 16;
  // A late video row of the spatio-temporal head (h % 4 == 0): mass on the same position in earlier patches vs.
  // on the other positions of those patches, per key.
  const int64_t row = start + 5 * period + 20;
  const int64_t rows[] = {row};
  const std::vector<double> w = attention_rows(in.qv(), in.kv(), 0, rows, 0.0f);
  double same = 0.0, other = 0.0;
  for (int64_t f = 0; f < 5; ++f) {
    for (int64_t p = 0; p < period; ++p) {
      const double x = w[static_cast<size_t>(start + f * period + p)];
      if (p == 20) same += x / 5.0;
      else other += x / (5.0 * (period - 1));
    }
  }
  CHECK(same > 10.0 * other) << "same position " << same << " vs other " << other;
  // Every head gives the sinks several times their share.
  for (int64_t h = 0; h < 4; ++h) {
    const int64_t last[] = {n - 1};
    const std::vector<double> wl = attention_rows(in.qv(), in.kv(), h, last, 0.0f);
    const double sinks = wl[0] + wl[1] + wl[2] + wl[3];
    CHECK(sinks > 5.0 * 4.0 / static_cast<double>(n)) << "head " << h << " sinks " << sinks;
  }
  CHECK_THROWS_CODE(synthetic_qkv({lay, 3, 2, 128, 1, 4}), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(synthetic_qkv({lay, 4, 1, 32, 1, 4}), ErrorCode::InvalidArgument);
}
