// Online estimation on inputs with planted structure: the estimated index must keep >= 99% of the attention mass
// that falls on the planted cells (verticals, slashes, grid lines and periodic slashes), while staying sparse.
#include "check.hpp"
#include "mmi/attention/synthetic.hpp"
#include "support.hpp"

using namespace mmi::attention;

namespace {

double mean_density(const std::vector<HeadEstimate>& est) {
  double d = 0.0;
  for (const auto& e : est) d += density(e.index).value() / static_cast<double>(est.size());
  return d;
}

}  // namespace

TEST(vertical_slash_recovers_planted_verticals_and_slashes) {
  const int64_t n = 1536;  // large enough for a sparse block index
  const std::vector<int64_t> columns = {150, 151, 600, 999, 1400};
  const std::vector<int64_t> offsets = {300, 517, 800, 1100};
  const Planted in = planted_vertical_slash(n, 2, 64, columns, offsets, 42);
  PatternConfig config;
  config.pattern = Pattern::vertical_slash;
  config.vertical_slash = {kSinkColumns + 2 * static_cast<int64_t>(columns.size()),
                           kLocalSlashes + 2 * static_cast<int64_t>(offsets.size())};
  const ModalityLayout lay = ModalityLayout::text_only(n);
  const auto est = estimate_heads(in.qkv.qv(), in.qkv.kv(), lay, std::span(&config, 1));
  for (int64_t h = 0; h < 2; ++h) {
    const double r = support::planted_recall(in.qkv.qv(), in.qkv.kv(), h, est[static_cast<size_t>(h)].index, in.planted);
    CHECK(r >= 0.99) << "head " << h << ": planted mass recovered " << r;
  }
  const double d = mean_density(est);
  CHECK(d < 0.75) << "density " << d;
  // The same planted input with a budget of only the forced columns and diagonals loses the planted mass: the
  // estimation, not the forced part, finds it.
  config.vertical_slash = {0, 0};
  const auto forced = estimate_heads(in.qkv.qv(), in.qkv.kv(), lay, std::span(&config, 1));
  const double r = support::planted_recall(in.qkv.qv(), in.qkv.kv(), 0, forced[0].index, in.planted);
  CHECK(r < 0.9) << "forced-only budget still recovered " << r;
}

TEST(grid_recovers_planted_grid_and_confirms_stride) {
  struct Case {
    int64_t t, h, w, stride, phase;
  };
  // Stride = the layout's period; a divisor of it (the input, not the prior, decides); a partial last period.
  for (const Case c : {Case{8, 4, 12, 48, 17}, Case{8, 4, 12, 24, 5}, Case{6, 5, 10, 50, 49}}) {
    const Segment segments[] = {Segment::text(32), Segment::video(c.t, c.h, c.w), Segment::text(40)};
    const ModalityLayout lay = ModalityLayout::make(segments);
    const Planted in = planted_grid(lay, 2, 64, c.stride, c.phase, 7);
    PatternConfig config;
    config.pattern = Pattern::grid;
    config.grid_lines = 2;
    config.sink_tokens = 8;
    config.local_tokens = 16;
    const auto est = estimate_heads(in.qkv.qv(), in.qkv.kv(), lay, std::span(&config, 1));
    for (int64_t h = 0; h < 2; ++h) {
      const HeadEstimate& e = est[static_cast<size_t>(h)];
      CHECK(e.grid.size() == 1);
      CHECK(e.grid[0].prior == c.h * c.w);
      CHECK(e.grid[0].run.stride == c.stride) << "chose stride " << e.grid[0].run.stride << " for planted " << c.stride;
      const auto& phases = e.grid[0].phases;
      CHECK(std::find(phases.begin(), phases.end(), c.phase) != phases.end()) << "phase " << c.phase << " not kept";
      const double r = support::planted_recall(in.qkv.qv(), in.qkv.kv(), h, e.index, in.planted);
      CHECK(r >= 0.99) << "stride " << c.stride << " head " << h << ": planted mass recovered " << r;
    }
    const double d = mean_density(est);
    CHECK(d < 0.6) << "stride " << c.stride << ": density " << d;
  }
}

TEST(grid_handles_several_video_runs) {
  const Segment segments[] = {Segment::text(16), Segment::video(5, 4, 6), Segment::text(8), Segment::video(4, 6, 4),
                              Segment::text(20)};
  const ModalityLayout lay = ModalityLayout::make(segments);
  const Planted in = planted_grid(lay, 1, 64, 24, 3, 9);
  PatternConfig config;
  config.pattern = Pattern::grid;
  config.grid_lines = 1;
  config.sink_tokens = 4;
  config.local_tokens = 8;
  const HeadEstimate e = estimate_head(in.qkv.qv(), in.qkv.kv(), 0, lay, config);
  CHECK(e.grid.size() == 2);
  for (const auto& g : e.grid) CHECK(g.run.stride == 24 && g.phases == std::vector<int64_t>{3});
  const double r = support::planted_recall(in.qkv.qv(), in.qkv.kv(), 0, e.index, in.planted);
  CHECK(r >= 0.99) << "planted mass recovered " << r;
}
