// mmi-search-bench: the offline pattern search at scale (bench/gpu-search/).
//
//   mmi-search-bench cost --tokens 65536 [--heads 2] [--candidates all|0,3,7] [--dtype bf16|f32]
//     The host's scoring cost of one head at a prompt length, per candidate, one thread (the search scores a
//     layer's heads in parallel, one thread each): random q/k of the 7B shape over a synthetic video layout of
//     1008×560 frames, in bf16 as the GPU backend shows them (f32: as the CPU backend does). For choosing
//     candidates before a run.
//
//   mmi-search-bench search --model DIR --tokens 65536 [--candidates all|0,3,7] [--threads 0] [--out FILE]
//                           [--device auto|gpu|cpu]
//     search_patterns on the model (the GPU when it loads there) over one synthetic video prompt of about `tokens`
//     tokens (1008×560 frames, 720 tokens per temporal patch, random pixels), as the product runs it. One JSON line
//     per finished layer (its time), then a summary: wall time, pattern counts per layer, mean recall, density and
//     cost, the candidates used.
//
// Candidates are indices into default_candidates() (listed on stderr by both commands).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmi/attention/layout.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/ops/half.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/search.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "synthetic_prompt.hpp"

namespace att = mmi::attention;
namespace pt = mmi::patterns;
namespace q25 = mmi::qwen2_5_vl;

namespace {

struct Args {
  std::string command, model, out, candidates = "all", device = "auto", dtype = "bf16";
  std::int64_t tokens = 65536, heads = 2;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw std::runtime_error("usage: mmi-search-bench cost|search [options] (see the source's header)");
  a.command = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") a.model = v;
    else if (k == "--out") a.out = v;
    else if (k == "--candidates") a.candidates = v;
    else if (k == "--device") a.device = v;
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--tokens") a.tokens = std::stoll(v);
    else if (k == "--heads") a.heads = std::stoll(v);
    else if (k == "--threads") a.threads = std::stoi(v);
    else throw std::runtime_error("unknown option " + k);
  }
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string describe(const pt::HeadPattern& p, std::int64_t n) {
  const att::PatternConfig c = pt::to_config(p, n);
  std::ostringstream s;
  s << att::pattern_name(p.pattern);
  switch (p.pattern) {
    case att::Pattern::a_shape: s << " sink " << c.sink_tokens << " local " << c.local_tokens; break;
    case att::Pattern::block_sparse: s << " top " << c.top_k_blocks; break;
    case att::Pattern::grid: s << " sink " << c.sink_tokens << " local " << c.local_tokens << " lines " << c.grid_lines; break;
    case att::Pattern::vertical_slash: s << " v " << c.vertical_slash.vertical << " s " << c.vertical_slash.slash; break;
    case att::Pattern::q_boundary: s << " video rows v " << c.video_rows.vertical << " s " << c.video_rows.slash; break;
    case att::Pattern::two_d_boundary:
      s << " video-video v " << c.video_to_video.vertical << " s " << c.video_to_video.slash;
      break;
    case att::Pattern::dense: break;
  }
  return s.str();
}

std::vector<std::size_t> chosen(const std::string& list, std::size_t count) {
  std::vector<std::size_t> out;
  if (list == "all") {
    for (std::size_t i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const auto i = static_cast<std::size_t>(std::stoul(item));
    if (i >= count) throw std::runtime_error("candidate " + item + " is not among the " + std::to_string(count));
    out.push_back(i);
  }
  return out;
}

std::vector<pt::HeadPattern> candidates_of(const std::string& list, std::int64_t n) {
  const std::vector<pt::HeadPattern> all = pt::default_candidates();
  std::vector<pt::HeadPattern> out;
  for (std::size_t i = 0; i < all.size(); ++i) std::fprintf(stderr, "candidate %2zu: %s\n", i, describe(all[i], n).c_str());
  for (std::size_t i : chosen(list, all.size())) out.push_back(all[i]);
  return out;
}

// The 7B prompt's shape: 1008×560 frames are 40×72 patches, 20×36 = 720 tokens per temporal patch.
constexpr std::int64_t kGridH = 40, kGridW = 72, kPrefix = 14, kSuffix = 12;

std::int64_t temporal_patches(std::int64_t tokens) {
  return std::max<std::int64_t>(1, (tokens - kPrefix - kSuffix - 2) / (kGridH * kGridW / 4));
}

int cost(const Args& a) {
  constexpr std::int64_t kHeads = 28, kDim = 128;
  const std::int64_t t = temporal_patches(a.tokens);
  const std::vector<att::Segment> segments = {att::Segment::text(kPrefix + 1), att::Segment::video(t, kGridH / 2, kGridW / 2),
                                              att::Segment::text(kSuffix + 1)};
  const att::ModalityLayout layout = att::ModalityLayout::make(segments, -1);
  const std::int64_t n = layout.n();
  const std::vector<pt::HeadPattern> candidates = candidates_of(a.candidates, n);
  const std::int64_t heads = std::min(a.heads, kHeads);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(heads * n * kDim)), k(static_cast<std::size_t>(n * kDim));
  for (float& x : q) x = normal(rng);
  for (float& x : k) x = normal(rng);
  std::vector<std::uint16_t> q16(q.size()), k16(k.size());
  std::transform(q.begin(), q.end(), q16.begin(), mmi::ops::f32_to_bf16);
  std::transform(k.begin(), k.end(), k16.begin(), mmi::ops::f32_to_bf16);
  const bool bf16 = a.dtype == "bf16";
  const att::DType dtype = bf16 ? att::DType::bf16 : att::DType::f32;
  // Heads 0..heads-1 of a 28/4 layer share kv head 0: q is given as `heads` heads over one kv head.
  const att::HeadsView qv{bf16 ? static_cast<const void*>(q16.data()) : q.data(), dtype, heads, n, kDim, 0, 0};
  const att::HeadsView kv{bf16 ? static_cast<const void*>(k16.data()) : k.data(), dtype, 1, n, kDim, 0, 0};
  std::printf("{\"tokens\": %lld, \"temporal_patches\": %lld, \"heads_timed\": %lld, \"dtype\": \"%s\"}\n",
              static_cast<long long>(n), static_cast<long long>(t), static_cast<long long>(heads), a.dtype.c_str());
  const pt::SearchSettings defaults;
  double total = 0.0;
  for (std::int64_t h = 0; h < heads; ++h) {
    auto t0 = std::chrono::steady_clock::now();
    pt::score_candidates(qv, kv, h, layout, {}, defaults.recall_samples);
    const double rows = seconds_since(t0);
    double head_total = rows;
    for (const pt::HeadPattern& c : candidates) {
      t0 = std::chrono::steady_clock::now();
      const auto s = pt::score_candidates(qv, kv, h, layout, std::span(&c, 1), defaults.recall_samples);
      const double sec = std::max(0.0, seconds_since(t0) - rows);  // each call also takes the sampled rows' softmax
      head_total += sec;
      std::printf("{\"head\": %lld, \"candidate\": \"%s\", \"seconds\": %.3f, \"recall\": %.4f, \"cost\": %.4f}\n",
                  static_cast<long long>(h), describe(c, n).c_str(), sec, s[0].recall, s[0].cost);
    }
    // The search's call: every candidate at once (the per-candidate times above subtract a noisy share).
    t0 = std::chrono::steady_clock::now();
    pt::score_candidates(qv, kv, h, layout, candidates, defaults.recall_samples);
    const double together = seconds_since(t0);
    std::printf("{\"head\": %lld, \"sampled_rows_seconds\": %.3f, \"sum_seconds\": %.3f, \"head_seconds\": %.3f}\n",
                static_cast<long long>(h), rows, head_total, together);
    total += together;
  }
  const double per_head = total / static_cast<double>(heads);
  // 28 layers of 28 heads, 16 threads: the heads of a layer take ceil(28 / 16) = 2 rounds.
  std::printf("{\"per_head_seconds\": %.3f, \"estimate_7b_16_threads_seconds\": %.1f}\n", per_head,
              per_head * 28.0 * 2.0);
  std::fflush(stdout);
  return 0;
}

int search(const Args& a) {
  if (a.model.empty()) throw std::runtime_error("search needs --model DIR");
  q25::LoadOptions o;
  o.backend = a.device == "gpu" ? q25::Backend::Cuda : a.device == "cpu" ? q25::Backend::Cpu : q25::Backend::Auto;
  auto t0 = std::chrono::steady_clock::now();
  const auto model = q25::Model::load(a.model, o);
  const double load_s = seconds_since(t0);
  const q25::Config& c = model->config();
  const std::int64_t t = temporal_patches(a.tokens);
  const synthetic::Prompt prompt = synthetic::video_prompt(c, {t, kGridH, kGridW}, kPrefix, kSuffix, 1.0, 7);
  const auto n = static_cast<std::int64_t>(prompt.ids.size());
  q25::PixelValues pixels;
  pixels.grid = prompt.grid;
  pixels.data.resize(static_cast<std::size_t>(t * kGridH * kGridW * c.vision.patch_dim()));
  synthetic::fill_pixels(11, 0, t, kGridH * kGridW, c.vision.patch_dim(), pixels.data.data());
  pt::CalibrationPrompt p;
  p.name = "synthetic-1008x560-" + std::to_string(t);
  p.ids = prompt.ids;
  p.positions = prompt.positions;
  p.video_grids = {prompt.grid};
  p.videos = std::span(&pixels, 1);

  pt::SearchSettings settings;
  settings.candidates = candidates_of(a.candidates, n);
  pt::SearchControl control;
  control.threads = a.threads;
  auto last = std::chrono::steady_clock::now();
  double encode_s = 0.0;
  control.on_progress = [&](const pt::SearchProgress& s) {
    const double sec = seconds_since(last);
    if (s.stage == pt::SearchProgress::Stage::encoding) {
      encode_s += sec;
    } else if (s.stage == pt::SearchProgress::Stage::scoring && s.done > 0) {
      // The first layer's time includes the upload of the features and the embeddings.
      std::printf("{\"layer\": %lld, \"seconds\": %.3f}\n", static_cast<long long>(s.layer), sec);
      std::fflush(stdout);
    }
    last = std::chrono::steady_clock::now();
  };
  const pt::ModelIdentity id = pt::model_identity(*model, a.model);
  t0 = std::chrono::steady_clock::now();
  last = t0;
  const pt::PatternFile f = pt::search_patterns(*model, id, std::span(&p, 1), settings, control);
  const double search_s = seconds_since(t0);
  if (!a.out.empty()) pt::save_pattern_file(f, a.out);

  double recall = 0.0, density = 0.0, kernel = 0.0;
  std::int64_t heads = 0;
  std::printf("{\"per_layer_patterns\": [");
  for (std::size_t l = 0; l < f.layers.size(); ++l) {
    std::map<std::string, int> counts;
    for (const pt::HeadEntry& e : f.layers[l]) {
      ++counts[att::pattern_name(e.pattern.pattern)];
      const pt::HeadStats s = e.calibration.value_or(pt::HeadStats{});
      recall += s.recall;
      density += s.density;
      kernel += s.cost;
      ++heads;
    }
    std::printf("%s{", l ? ", " : "");
    bool first = true;
    for (const auto& [name, count] : counts) {
      std::printf("%s\"%s\": %d", first ? "" : ", ", name.c_str(), count);
      first = false;
    }
    std::printf("}");
  }
  std::printf("]}\n");
  std::printf("{\"backend\": \"%s\", \"load_seconds\": %.2f, \"tokens\": %lld, \"video_tokens\": %lld, "
              "\"temporal_patches\": %lld, \"candidates\": %zu, \"search_seconds\": %.1f, \"encoding_seconds\": %.1f, \"mean_recall\": %.4f, "
              "\"mean_density\": %.4f, \"mean_cost\": %.4f}\n",
              model->info().backend.c_str(), load_s, static_cast<long long>(n),
              static_cast<long long>(f.inputs[0].video_tokens), static_cast<long long>(t), settings.candidates.size(),
              search_s, encode_s, recall / static_cast<double>(heads), density / static_cast<double>(heads),
              kernel / static_cast<double>(heads));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (a.command == "cost") return cost(a);
    if (a.command == "search") return search(a);
    throw std::runtime_error("unknown command " + a.command);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmi-search-bench: %s\n", e.what());
    return 1;
  }
}
