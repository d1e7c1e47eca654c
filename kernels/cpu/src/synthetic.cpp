#include "mmi/attention/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

namespace {

// splitmix64: tiny, fast and the same on every platform (std distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {                                                             // Box-Muller
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

// An orthonormal basis of R^dim (Gram-Schmidt on Gaussian vectors), column f = basis[f*dim .. f*dim+dim).
std::vector<double> orthonormal_basis(int64_t dim, Rng& rng) {
  std::vector<double> basis(static_cast<size_t>(dim * dim));
  for (int64_t f = 0; f < dim; ++f) {
    double* b = basis.data() + f * dim;
    for (;;) {
      for (int64_t d = 0; d < dim; ++d) b[d] = rng.normal();
      for (int64_t g = 0; g < f; ++g) {
        const double* c = basis.data() + g * dim;
        double dot = 0.0;
        for (int64_t d = 0; d < dim; ++d) dot += b[d] * c[d];
        for (int64_t d = 0; d < dim; ++d) b[d] -= dot * c[d];
      }
      double norm = 0.0;
      for (int64_t d = 0; d < dim; ++d) norm += b[d] * b[d];
      norm = std::sqrt(norm);
      if (norm < 1e-6) continue;
      for (int64_t d = 0; d < dim; ++d) b[d] /= norm;
      break;
    }
  }
  return basis;
}

// Writes basis · features into out[0..dim), times `gain` (so that q·k·scale equals the features' dot product
// when both sides carry dim^(1/4)).
void embed(const std::vector<double>& basis, const std::vector<double>& features, int64_t dim, double gain,
           float* out) {
  for (int64_t d = 0; d < dim; ++d) out[d] = 0.0f;
  for (size_t f = 0; f < features.size(); ++f) {
    if (features[f] == 0.0) continue;
    const double* b = basis.data() + static_cast<int64_t>(f) * dim;
    for (int64_t d = 0; d < dim; ++d) out[d] += static_cast<float>(gain * features[f] * b[d]);
  }
}

void fill_normal(std::vector<float>& v, Rng& rng) {
  for (float& x : v) x = static_cast<float>(rng.normal());
}

QKV allocate(int64_t heads_q, int64_t heads_kv, int64_t n, int64_t dim) {
  QKV out{heads_q, heads_kv, n, dim, {}, {}, {}};
  out.q.resize(static_cast<size_t>(heads_q * n * dim));
  out.k.resize(static_cast<size_t>(heads_kv * n * dim));
  out.v.resize(static_cast<size_t>(heads_kv * n * dim));
  return out;
}

// Random Fourier features approximating a Gaussian kernel of length `scale` in `dims` coordinates.
struct Fourier {
  int64_t pairs = 0, dims = 0;
  std::vector<double> omega;  // pairs × dims
  Fourier(int64_t pairs_, int64_t dims_, double scale, Rng& rng) : pairs(pairs_), dims(dims_) {
    for (int64_t i = 0; i < pairs * dims; ++i) omega.push_back(rng.normal() / scale);
  }
  // Appends cos/sin of ω·x for each pair, times `weight`.
  void append(const double* x, double weight, std::vector<double>& f) const {
    for (int64_t i = 0; i < pairs; ++i) {
      double a = 0.0;
      for (int64_t d = 0; d < dims; ++d) a += omega[static_cast<size_t>(i * dims + d)] * x[d];
      f.push_back(weight * std::cos(a));
      f.push_back(weight * std::sin(a));
    }
  }
};

}  // namespace

ModalityLayout synthetic_video_layout(int64_t n, int64_t h, int64_t w, int64_t system_tokens, int64_t question_tokens) {
  require(n >= 2, "synthetic layout needs n >= 2, got " + std::to_string(n));
  require(h > 0 && w > 0 && system_tokens > 0 && question_tokens > 0, "synthetic layout: sizes must be positive");
  const int64_t period = h * w;
  const int64_t t = (n - system_tokens - question_tokens) / period;
  if (t < 1) return ModalityLayout::text_only(n);
  const Segment segments[] = {Segment::text(system_tokens), Segment::video(t, h, w),
                              Segment::text(n - system_tokens - t * period)};
  return ModalityLayout::make(segments, n);
}

namespace {

// A seed for one stream (what, which) of a generator seeded with `seed`: every head draws from its own stream, so
// the data do not depend on the order or the threads that generate them.
uint64_t stream(uint64_t seed, uint64_t what, uint64_t which) {
  Rng r(seed ^ (what * 0xD1B54A32D192ED03ull) ^ (which * 0x8CB92BA72F3D8DD7ull));
  return r.next();
}

constexpr int64_t kSpatial = 16, kTemporal = 4, kPositional = 8;
constexpr int64_t kStructured = 3 + 2 * (kSpatial + kTemporal + kPositional);  // feature dims before the noise

// The feature space of one kv head: its basis and its Fourier features.
struct KvSpace {
  std::vector<double> basis;
  Fourier spatial, temporal, positional;
  KvSpace(int64_t dim, Rng rng)
      : basis(orthonormal_basis(dim, rng)),
        spatial(kSpatial, 2, 1.0, rng),
        temporal(kTemporal, 1, 2.0, rng),
        positional(kPositional, 1, 8.0, rng) {}
};

}  // namespace

void synthetic_qkv_into(const SyntheticSpec& spec, float* q, float* k, float* v, const RunControl& control) {
  const ModalityLayout& layout = spec.layout;
  const int64_t n = layout.n(), dim = spec.dim;
  require(n > 0, "synthetic: the layout is empty");
  require(spec.heads_kv > 0 && spec.heads_q > 0 && spec.heads_q % spec.heads_kv == 0 && spec.heads_q <= 4096,
          "synthetic: heads_q must be a positive multiple of heads_kv (at most 4096)");
  require(dim >= 64 && dim <= kMaxHeadDim, "synthetic: head dim must be in [64, " + std::to_string(kMaxHeadDim) + "]");
  require(spec.sink_tokens >= 0, "synthetic: sink_tokens must be >= 0");
  require(q != nullptr && k != nullptr && v != nullptr, "synthetic: null output");

  // Token roles: coordinates of video tokens, salient tokens, needles, question rows.
  Rng roles(stream(spec.seed, 0, 0));
  std::vector<double> coord(static_cast<size_t>(n * 3), 0.0);  // y, x, t of video tokens
  std::vector<uint8_t> video(static_cast<size_t>(n), 0), salient(static_cast<size_t>(n), 0),
      needle(static_cast<size_t>(n), 0), question(static_cast<size_t>(n), 0);
  for (const VideoRun& run : layout.video_runs()) {
    for (int64_t i = 0; i < run.length(); ++i) {
      const auto t = static_cast<size_t>(run.start + i);
      video[t] = 1;
      coord[t * 3 + 0] = static_cast<double>((i % run.period()) / run.w);
      coord[t * 3 + 1] = static_cast<double>(i % run.w);
      coord[t * 3 + 2] = static_cast<double>(i / run.period());
    }
    for (int i = 0; i < 4; ++i) needle[static_cast<size_t>(run.start + roles.below(run.length()))] = 1;
  }
  for (int64_t i = 0; i < std::max<int64_t>(1, n / 500); ++i) salient[static_cast<size_t>(roles.below(n))] = 1;
  const auto& segs = layout.segments();
  if (segs.back().modality == Modality::text) {
    std::fill(question.begin() + layout.starts()[segs.size() - 1], question.end(), 1);
  }

  const double gain = std::pow(static_cast<double>(dim), 0.25);
  const int64_t group = spec.heads_q / spec.heads_kv;
  // Head types: spatio-temporal (grid), local band, verticals, mixed; amplitudes of sink, salient, needle,
  // spatial, temporal, positional.
  static constexpr double kTypes[4][6] = {
      {7.0, 2.0, 3.0, 8.0, 2.0, 2.0},
      {7.0, 1.0, 2.0, 2.0, 1.0, 7.0},
      {8.0, 6.0, 5.0, 1.0, 0.5, 2.0},
      {7.0, 3.0, 4.0, 4.0, 1.5, 4.0},
  };
  // Units: kv heads' keys, kv heads' values, query heads.
  parallel_for(2 * spec.heads_kv + spec.heads_q, control, [&](int64_t unit) {
    if (unit >= spec.heads_kv && unit < 2 * spec.heads_kv) {
      const int64_t g = unit - spec.heads_kv;
      Rng rng(stream(spec.seed, 3, static_cast<uint64_t>(g)));
      for (int64_t i = 0; i < n * dim; ++i) v[g * n * dim + i] = static_cast<float>(rng.normal());
      return;
    }
    const bool keys = unit < spec.heads_kv;
    const int64_t h = keys ? unit : unit - 2 * spec.heads_kv;
    const int64_t g = keys ? h : h / group;
    const KvSpace space(dim, Rng(stream(spec.seed, 1, static_cast<uint64_t>(g))));
    Rng rng(stream(spec.seed, keys ? 2 : 4, static_cast<uint64_t>(h)));
    // Keys carry the features' values; queries the same features weighted by the head's amplitudes.
    double a[6] = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
    if (!keys) {
      for (int i = 0; i < 6; ++i) a[i] = kTypes[h % 4][i] * (0.8 + 0.4 * rng.uniform());
    }
    std::vector<double> f;
    for (int64_t t = 0; t < n; ++t) {
      const auto ts = static_cast<size_t>(t);
      const double pos = static_cast<double>(t);
      if (keys) {
        f = {t < spec.sink_tokens ? 1.0 : 0.0, salient[ts] ? 1.0 : 0.0, needle[ts] ? 1.0 : 0.0};
      } else {
        f = {a[0], a[1], question[ts] ? a[2] : 0.0};
      }
      space.spatial.append(&coord[ts * 3], video[ts] ? (keys ? 1.0 : a[3] / kSpatial) : 0.0, f);
      space.temporal.append(&coord[ts * 3 + 2], video[ts] ? (keys ? 1.0 : a[4] / kTemporal) : 0.0, f);
      space.positional.append(&pos, keys ? 1.0 : a[5] / kPositional, f);
      // The dims no feature uses carry Gaussian noise: logits get a random part of standard deviation ~1.
      for (int64_t d = kStructured; d < dim; ++d) f.push_back(0.3 * rng.normal());
      embed(space.basis, f, dim, gain, (keys ? k : q) + (h * n + t) * dim);
    }
  });
}

QKV synthetic_qkv(const SyntheticSpec& spec, const RunControl& control) {
  require(spec.heads_q > 0 && spec.heads_kv > 0 && spec.heads_q <= 4096 && spec.dim > 0 && spec.dim <= kMaxHeadDim,
          "synthetic: bad head counts or head dim");
  QKV out = allocate(spec.heads_q, spec.heads_kv, spec.layout.n(), spec.dim);
  synthetic_qkv_into(spec, out.q.data(), out.k.data(), out.v.data(), control);
  return out;
}

namespace {

void check_planted(int64_t n, int64_t heads_q, int64_t dim) {
  require(n >= 1 && n <= 8192, "planted inputs: n must be in [1, 8192], got " + std::to_string(n));
  require(heads_q >= 1, "planted inputs: heads_q must be >= 1");
  require(dim >= 64 && dim <= kMaxHeadDim, "planted inputs: head dim must be in [64, " + std::to_string(kMaxHeadDim) + "]");
}

// Fills q/k of every head from per-token feature callbacks plus small Gaussian noise on the unused dims.
template <class KeyFeatures, class QueryFeatures>
QKV planted_qkv(int64_t n, int64_t heads_q, int64_t dim, int64_t used, Rng& rng, KeyFeatures key_features,
                QueryFeatures query_features) {
  QKV out = allocate(heads_q, 1, n, dim);
  fill_normal(out.v, rng);
  const std::vector<double> basis = orthonormal_basis(dim, rng);
  const double gain = std::pow(static_cast<double>(dim), 0.25);
  std::vector<double> f;
  auto fill = [&](float* row, std::vector<double>& feats) {
    feats.resize(static_cast<size_t>(used));
    for (int64_t d = used; d < dim; ++d) feats.push_back(0.3 * rng.normal());
    embed(basis, feats, dim, gain, row);
  };
  for (int64_t t = 0; t < n; ++t) {
    f.clear();
    key_features(t, f);
    fill(out.k.data() + t * dim, f);
  }
  for (int64_t h = 0; h < heads_q; ++h) {
    for (int64_t t = 0; t < n; ++t) {
      f.clear();
      query_features(h, t, f);
      fill(out.q.data() + (h * n + t) * dim, f);
    }
  }
  return out;
}

}  // namespace

Planted planted_vertical_slash(int64_t n, int64_t heads_q, int64_t dim, const std::vector<int64_t>& columns,
                               const std::vector<int64_t>& offsets, uint64_t seed) {
  check_planted(n, heads_q, dim);
  for (int64_t c : columns) require(c >= 0 && c < n, "planted column " + std::to_string(c) + " is out of range");
  for (int64_t o : offsets) require(o >= 0 && o < n, "planted offset " + std::to_string(o) + " is out of range");
  Rng rng(seed);
  constexpr int64_t kPairs = 24;
  constexpr double kVertical = 10.0, kSlash = 12.0;
  std::vector<double> omega(kPairs);
  for (double& w : omega) w = 0.3 + (std::numbers::pi - 0.3) * rng.uniform();
  std::vector<uint8_t> is_column(static_cast<size_t>(n), 0);
  for (int64_t c : columns) is_column[static_cast<size_t>(c)] = 1;

  Planted out;
  out.qkv = planted_qkv(
      n, heads_q, dim, 1 + 2 * kPairs, rng,
      [&](int64_t t, std::vector<double>& f) {
        f.push_back(is_column[static_cast<size_t>(t)] ? 1.0 : 0.0);
        for (double w : omega) {
          double c = 0.0, s = 0.0;
          for (int64_t o : offsets) {
            c += std::cos(w * static_cast<double>(t + o));
            s += std::sin(w * static_cast<double>(t + o));
          }
          f.push_back(c);
          f.push_back(s);
        }
      },
      [&](int64_t, int64_t t, std::vector<double>& f) {
        f.push_back(kVertical);
        for (double w : omega) {
          f.push_back(kSlash / kPairs * std::cos(w * static_cast<double>(t)));
          f.push_back(kSlash / kPairs * std::sin(w * static_cast<double>(t)));
        }
      });
  out.planted.assign(static_cast<size_t>(n * n), 0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c : columns) {
      if (c <= r) out.planted[static_cast<size_t>(r * n + c)] = 1;
    }
    for (int64_t o : offsets) {
      if (o <= r) out.planted[static_cast<size_t>(r * n + r - o)] = 1;
    }
  }
  return out;
}

Planted planted_grid(const ModalityLayout& layout, int64_t heads_q, int64_t dim, int64_t stride, int64_t phase,
                     uint64_t seed) {
  const int64_t n = layout.n();
  check_planted(n, heads_q, dim);
  require(stride >= 2 && phase >= 0 && phase < stride, "planted grid: need stride >= 2 and 0 <= phase < stride");
  Rng rng(seed);
  const int64_t pairs = std::min<int64_t>({24, (dim - 8) / 2, stride / 2});
  constexpr double kLine = 10.0, kSlash = 12.0;
  // Per run and frequency a random phase, so only pairs inside one run line up.
  std::vector<int64_t> run_of(static_cast<size_t>(n), -1);
  std::vector<double> shift;
  for (size_t g = 0; g < layout.video_runs().size(); ++g) {
    const VideoRun& run = layout.video_runs()[g];
    std::fill_n(run_of.begin() + run.start, run.length(), static_cast<int64_t>(g));
    for (int64_t m = 0; m < pairs; ++m) shift.push_back(2.0 * std::numbers::pi * rng.uniform());
  }
  auto on_line = [&](int64_t t) {
    const int64_t g = run_of[static_cast<size_t>(t)];
    return g >= 0 && (t - layout.video_runs()[static_cast<size_t>(g)].start) % stride == phase;
  };
  auto periodic = [&](int64_t t, double weight, std::vector<double>& f) {
    const int64_t g = run_of[static_cast<size_t>(t)];
    for (int64_t m = 1; m <= pairs; ++m) {
      if (g < 0) {
        f.push_back(0.0);
        f.push_back(0.0);
        continue;
      }
      const double a = 2.0 * std::numbers::pi * static_cast<double>(m * t) / static_cast<double>(stride) +
                       shift[static_cast<size_t>(g * pairs + m - 1)];
      f.push_back(weight * std::cos(a));
      f.push_back(weight * std::sin(a));
    }
  };
  Planted out;
  out.qkv = planted_qkv(
      n, heads_q, dim, 1 + 2 * pairs, rng,
      [&](int64_t t, std::vector<double>& f) {
        f.push_back(on_line(t) ? 1.0 : 0.0);
        periodic(t, 1.0, f);
      },
      [&](int64_t, int64_t t, std::vector<double>& f) {
        f.push_back(kLine);
        periodic(t, kSlash / static_cast<double>(pairs), f);
      });
  out.planted.assign(static_cast<size_t>(n * n), 0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c <= r; ++c) {
      const bool same_run = run_of[static_cast<size_t>(r)] >= 0 && run_of[static_cast<size_t>(r)] == run_of[static_cast<size_t>(c)];
      if (on_line(c) || (same_run && (r - c) % stride == 0)) out.planted[static_cast<size_t>(r * n + c)] = 1;
    }
  }
  return out;
}

}  // namespace mmi::attention
