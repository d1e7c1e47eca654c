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
  std::vector<double> omega, phase;  // pairs × dims, pairs
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

QKV synthetic_qkv(const SyntheticSpec& spec) {
  const ModalityLayout& layout = spec.layout;
  const int64_t n = layout.n(), dim = spec.dim;
  require(n > 0, "synthetic: the layout is empty");
  require(spec.heads_kv > 0 && spec.heads_q > 0 && spec.heads_q % spec.heads_kv == 0,
          "synthetic: heads_q must be a positive multiple of heads_kv");
  require(dim >= 64 && dim <= kMaxHeadDim, "synthetic: head dim must be in [64, " + std::to_string(kMaxHeadDim) + "]");
  require(spec.sink_tokens >= 0, "synthetic: sink_tokens must be >= 0");
  Rng rng(spec.seed);
  QKV out = allocate(spec.heads_q, spec.heads_kv, n, dim);
  fill_normal(out.v, rng);

  // Token roles: coordinates of video tokens, salient tokens, needles, question rows.
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
    for (int i = 0; i < 4; ++i) needle[static_cast<size_t>(run.start + rng.below(run.length()))] = 1;
  }
  for (int64_t i = 0; i < std::max<int64_t>(1, n / 500); ++i) salient[static_cast<size_t>(rng.below(n))] = 1;
  const auto& segs = layout.segments();
  if (segs.back().modality == Modality::text) {
    std::fill(question.begin() + layout.starts()[segs.size() - 1], question.end(), 1);
  }

  constexpr int64_t kSpatial = 16, kTemporal = 4, kPositional = 8;
  const double gain = std::pow(static_cast<double>(dim), 0.25);
  const int64_t structured = 3 + 2 * (kSpatial + kTemporal + kPositional);
  std::vector<double> fq, fk;
  // The dims no feature uses carry Gaussian noise: logits get a random part of standard deviation ~1.
  auto with_noise = [&](std::vector<double>& f) {
    for (int64_t d = structured; d < dim; ++d) f.push_back(0.5 * rng.normal());
  };
  for (int64_t g = 0; g < spec.heads_kv; ++g) {
    const std::vector<double> basis = orthonormal_basis(dim, rng);
    const Fourier spatial(kSpatial, 2, 1.0, rng), temporal(kTemporal, 1, 2.0, rng), positional(kPositional, 1, 8.0, rng);
    // Keys: the features' values; queries: the same features weighted per head type.
    for (int64_t t = 0; t < n; ++t) {
      const auto ts = static_cast<size_t>(t);
      const double pos = static_cast<double>(t);
      fk = {t < spec.sink_tokens ? 1.0 : 0.0, salient[ts] ? 1.0 : 0.0, needle[ts] ? 1.0 : 0.0};
      spatial.append(&coord[ts * 3], video[ts] ? 1.0 : 0.0, fk);
      temporal.append(&coord[ts * 3 + 2], video[ts] ? 1.0 : 0.0, fk);
      positional.append(&pos, 1.0, fk);
      with_noise(fk);
      embed(basis, fk, dim, gain, out.k.data() + (g * n + t) * dim);
    }
    const int64_t group = spec.heads_q / spec.heads_kv;
    for (int64_t h = g * group; h < (g + 1) * group; ++h) {
      // Head types: spatio-temporal (grid), local band, verticals, mixed; amplitudes of sink, salient, needle,
      // spatial, temporal, positional.
      static constexpr double kTypes[4][6] = {
          {7.0, 2.0, 3.0, 8.0, 2.0, 2.0},
          {7.0, 1.0, 2.0, 2.0, 1.0, 7.0},
          {8.0, 6.0, 5.0, 1.0, 0.5, 2.0},
          {7.0, 3.0, 4.0, 4.0, 1.5, 4.0},
      };
      double a[6];
      for (int i = 0; i < 6; ++i) a[i] = kTypes[h % 4][i] * (0.8 + 0.4 * rng.uniform());
      for (int64_t t = 0; t < n; ++t) {
        const auto ts = static_cast<size_t>(t);
        const double pos = static_cast<double>(t);
        fq = {a[0], a[1], question[ts] ? a[2] : 0.0};
        spatial.append(&coord[ts * 3], video[ts] ? a[3] / kSpatial : 0.0, fq);
        temporal.append(&coord[ts * 3 + 2], video[ts] ? a[4] / kTemporal : 0.0, fq);
        positional.append(&pos, a[5] / kPositional, fq);
        with_noise(fq);
        embed(basis, fq, dim, gain, out.q.data() + (h * n + t) * dim);
      }
    }
  }
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
