// mmi-qwen-gpu-bench: the Qwen2.5-VL CUDA backend at scale on a model folder (the 7B-shaped random model of
// models/qwen2_5_vl/fixtures/scale/). For each prompt size: a synthetic video of 1008×560 frames (720 tokens per
// temporal patch) streamed from pixels through the vision tower into the pre-fill, dense and with per-head sparse
// patterns, then greedy decoding; the times, the index share and the peak GPU memory as one JSON line each. Also
// times the language model's GEMM shapes through the engine's cuBLASLt path (for the FLOP-count limit) and shows
// the memory plan's refusal of a prompt that does not fit.
//
//   mmi-qwen-gpu-bench --model DIR --tokens 65536,131072,262144 [--decode 32] [--refuse 1048576] [--dense-layers K]
//                      [--interleaved 262144] [--pattern-file PATH]
//
// --interleaved N: a mixed-modality prompt of about N tokens, text and three videos interleaved (six modality
// switches), pre-filled dense, with the boundary patterns of a pattern file written to PATH and read back as the
// engine reads any (kv groups 0-1 Q-boundary, 2-3 2D-boundary, 1000 columns and 6096 diagonals per region), and the
// same with the heatmaps of every head of one layer (64 × 64, 64 sampled rows) computed on the device.
//
// Every pre-fill reports its layers' times. --dense-layers K stops the dense pre-fills after K layers and
// extrapolates the whole from them (the layers are identical in shape, so each costs the same); every full pre-fill
// also prints the same extrapolation from its own first K layers, which checks the rule against the measured total.
// When the dense pre-fill is cut short, decoding follows the first sparse one instead (its cache is as long).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mmi/ops/half.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/prefill.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/cuda/gemm.hpp"
#include "mmi/runtime/errors.hpp"
#include "synthetic_prompt.hpp"

using namespace mmi::qwen2_5_vl;
namespace att = mmi::attention;
namespace rc = mmi::runtime::cuda;

namespace {

struct Args {
  std::string model;
  std::vector<std::int64_t> tokens;
  std::int64_t decode = 32;
  std::int64_t refuse = 0;
  std::int64_t dense_layers = 0;  // 0: every layer
  std::int64_t interleaved = 0;   // 0: no mixed-modality run
  std::string pattern_file = "/tmp/mmi-interleaved-patterns.json";
};

std::vector<std::int64_t> list_of(const std::string& s) {
  std::vector<std::int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") a.model = v;
    else if (k == "--tokens") a.tokens = list_of(v);
    else if (k == "--decode") a.decode = std::stoll(v);
    else if (k == "--refuse") a.refuse = std::stoll(v);
    else if (k == "--dense-layers") a.dense_layers = std::stoll(v);
    else if (k == "--interleaved") a.interleaved = std::stoll(v);
    else if (k == "--pattern-file") a.pattern_file = v;
    else throw std::runtime_error("unknown option " + k);
  }
  if (a.model.empty()) throw std::runtime_error("usage: mmi-qwen-gpu-bench --model DIR --tokens N,N [--decode 32]");
  return a;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// When the vision stage ended and each language-model layer finished (the engine synchronises before reporting a
// layer), from the pre-fill's progress; optionally cancels the pre-fill once `stop_after` layers are done.
struct LayerClock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), vision_end = start;
  std::vector<double> layer_end_ms;  // since vision_end
  std::int64_t stop_after = 0;
  std::atomic<bool> cancel{false};

  RunControl control() {
    RunControl rc;
    rc.cancel = &cancel;
    rc.on_progress = [this](Stage stage, std::int64_t done, std::int64_t) {
      if (stage == Stage::Vision) {
        vision_end = std::chrono::steady_clock::now();
      } else if (stage == Stage::Prefill) {
        layer_end_ms.push_back(ms_since(vision_end));
        if (stop_after > 0 && done >= stop_after) cancel = true;
      }
    };
    return rc;
  }
  // The language model's time for `layers` layers from the first k measured: the first layer (with the embedding
  // scatter) as measured, the others at the mean of layers 2..k. 0 when fewer than two layers ran.
  double extrapolated_ms(std::int64_t k, std::int64_t layers) const {
    k = std::min<std::int64_t>(k, static_cast<std::int64_t>(layer_end_ms.size()));
    if (k < 2) return 0.0;
    const double first = layer_end_ms[0];
    const double steady = (layer_end_ms[static_cast<std::size_t>(k - 1)] - first) / static_cast<double>(k - 1);
    return first + steady * static_cast<double>(layers - 1);
  }
  std::string layers_json() const {
    std::string out = "[";
    for (std::size_t i = 0; i < layer_end_ms.size(); ++i) {
      out += (i ? "," : "") + std::to_string(layer_end_ms[i] - (i ? layer_end_ms[i - 1] : 0.0));
    }
    return out + "]";
  }
};

// The pattern files of the scale run, configured directly through the attention core's PatternConfig (per head, by
// kv group), with MInference's and MMInference's default budgets: vertical-slash 1000 columns and 6096 diagonals,
// grid 128 sinks, a 4096 band and 4 phase lines, A-shape 128 sinks and 4096 local. "mixed": groups 0-1
// vertical-slash, 2 grid, 3 A-shape; "video": groups 0-1 grid, 2-3 A-shape (the patterns whose cost does not
// depend on what random weights attend to).
HeadPatterns scale_patterns(const TextConfig& c, bool mixed) {
  HeadPatterns p;
  p.layers = c.layers;
  p.heads = c.heads;
  const std::int64_t group = c.heads / c.kv_heads;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      att::PatternConfig cfg;
      const std::int64_t g = h / group;
      if (mixed) {
        cfg.pattern = g < c.kv_heads / 2 ? att::Pattern::vertical_slash
                      : g < c.kv_heads - 1 ? att::Pattern::grid
                                           : att::Pattern::a_shape;
      } else {
        cfg.pattern = g < c.kv_heads / 2 ? att::Pattern::grid : att::Pattern::a_shape;
      }
      p.configs.push_back(cfg);
    }
  }
  return p;
}

// Random bf16 values (about N(0, 1) scaled), so the timed products do not run on constant data.
void fill_random_bf16(rc::DeviceMemory& d, std::uint64_t seed, float scale) {
  const std::size_t count = d.bytes() / 2;
  std::vector<float> f(count);
  synthetic::fill_pixels(seed, 0, 1, 1, static_cast<std::int64_t>(count), f.data());
  std::vector<std::uint16_t> bits(count);
  for (std::size_t i = 0; i < count; ++i) bits[i] = mmi::ops::f32_to_bf16(scale * f[i]);
  MMI_GPU_CHECK(cudaMemcpy(d.get(), bits.data(), d.bytes(), cudaMemcpyHostToDevice));
}

// Median milliseconds of the language model's four GEMMs of one layer on a 4096-row chunk.
void gemm_rates(const TextConfig& c) {
  const std::int64_t M = 4096, D = c.hidden, I = c.intermediate, q = c.heads * c.head_dim;
  const std::int64_t qkv = (c.heads + 2 * c.kv_heads) * c.head_dim;
  struct Shape {
    const char* name;
    std::int64_t n, k;
    bool bf16_out;
  };
  const Shape shapes[] = {{"qkv", qkv, D, false}, {"o", D, q, false}, {"gate_up", 2 * I, D, true}, {"down", D, I, false}};
  rc::Stream stream;
  rc::Gemm gemm(stream.get());
  double total_flop = 0, total_ms = 0;
  for (const Shape& s : shapes) {
    rc::DeviceMemory a(static_cast<std::size_t>(M * s.k) * 2, "a"), w(static_cast<std::size_t>(s.n * s.k) * 2, "w"),
        out(static_cast<std::size_t>(M * s.n) * 4, "c");
    fill_random_bf16(a, 1, 1.0f);
    fill_random_bf16(w, 2, 0.02f);
    const auto type = s.bf16_out ? rc::OutType::BF16 : rc::OutType::F32;
    for (int i = 0; i < 3; ++i) gemm.linear(a.get(), s.k, M, w.get(), s.n, s.k, out.get(), type, s.n, false);
    std::vector<float> times;
    for (int i = 0; i < 10; ++i) {
      rc::Event e0, e1;
      e0.record(stream.get());
      gemm.linear(a.get(), s.k, M, w.get(), s.n, s.k, out.get(), type, s.n, false);
      e1.record(stream.get());
      times.push_back(e1.since(e0));
    }
    std::sort(times.begin(), times.end());
    const double ms = times[times.size() / 2], flop = 2.0 * M * s.n * s.k;
    total_flop += flop;
    total_ms += ms;
    std::printf("{\"kind\":\"gemm\",\"shape\":\"%s\",\"m\":%lld,\"n\":%lld,\"k\":%lld,\"ms\":%.4f,\"tflops\":%.1f}\n", s.name,
                static_cast<long long>(M), static_cast<long long>(s.n), static_cast<long long>(s.k), ms,
                flop / ms / 1e9);
  }
  std::printf("{\"kind\":\"gemm\",\"shape\":\"layer\",\"tflops\":%.1f}\n", total_flop / total_ms / 1e9);
  std::fflush(stdout);
}

// The mixed-modality pattern file: every head's pattern by kv group, written and read back through the pattern
// file format.
HeadPatterns interleaved_patterns(const Model& model, const Args& args, std::int64_t n) {
  namespace pt = mmi::patterns;
  pt::PatternFile file = pt::dense_pattern_file(pt::model_identity(model, args.model));
  const pt::VerticalSlashBudgets b{pt::Budget::fixed_count(1000), pt::Budget::fixed_count(6096)};
  const std::int64_t kv = file.model.kv_heads, group = file.model.heads / kv;
  for (auto& layer : file.layers) {
    for (std::size_t h = 0; h < layer.size(); ++h) {
      layer[h].pattern = static_cast<std::int64_t>(h) / group < kv / 2 ? pt::HeadPattern::q_boundary(b, b)
                                                                        : pt::HeadPattern::two_d_boundary(b, b, b, b);
    }
  }
  pt::save_pattern_file(file, args.pattern_file);
  const pt::PatternFile read = pt::load_pattern_file(args.pattern_file);
  return pt::head_patterns(model, &read, n);
}

// Text and three videos interleaved, about `target` tokens, dense and sparse (the pattern file's boundary heads),
// sparse again with one layer's heatmaps.
void interleaved_run(const Model& model, const Args& args, std::int64_t target) {
  const Config& c = model.config();
  const GridTHW frame{0, 40, 72};
  const std::int64_t per_t_tokens = (frame.h / 2) * (frame.w / 2);
  const std::vector<std::int64_t> texts = {64, 200, 150, 300};
  const std::int64_t patches = std::max<std::int64_t>(3, (target - 720) / per_t_tokens);
  const std::vector<GridTHW> grids = {{patches * 33 / 100, frame.h, frame.w},
                                      {patches * 36 / 100, frame.h, frame.w},
                                      {patches - patches * 33 / 100 - patches * 36 / 100, frame.h, frame.w}};
  const synthetic::Prompt prompt = synthetic::interleaved_prompt(c, grids, texts, 1.0, 19);
  const auto n = static_cast<std::int64_t>(prompt.ids.size());
  const std::int64_t patch_dim = c.vision.patch_dim();
  std::vector<PixelSource> sources;
  for (std::size_t v = 0; v < grids.size(); ++v) {
    const std::int64_t per_t = grids[v].h * grids[v].w;
    sources.push_back({grids[v], [per_t, patch_dim, v](std::int64_t t0, std::int64_t count, float* out) {
                         std::vector<std::thread> threads;
                         for (std::int64_t t = 0; t < count; ++t) {
                           threads.emplace_back([&, t] {
                             synthetic::fill_pixels(7 + v, t0 + t, 1, per_t, patch_dim, out + t * per_t * patch_dim);
                           });
                         }
                         for (auto& th : threads) th.join();
                       }});
  }
  const HeadPatterns patterns = interleaved_patterns(model, args, n);
  HeatmapRequest heatmaps;
  const std::int64_t heat_layer = c.text.layers / 2;
  for (std::int64_t h = 0; h < c.text.heads; ++h) heatmaps.heads.push_back({heat_layer, h});
  heatmaps.options.grid = 64;
  heatmaps.options.samples = 64;
  std::int64_t delivered = 0;
  double recall_sum = 0.0;
  heatmaps.deliver = [&](const PrefillHeatmap& h) {
    ++delivered;
    recall_sum += h.heatmap.recall;
  };
  for (const char* mode : {"dense", "sparse_boundary", "sparse_boundary_heatmaps"}) {
    const bool sparse = std::strcmp(mode, "dense") != 0;
    const bool heat = std::strcmp(mode, "sparse_boundary_heatmaps") == 0;
    rc::reset_peak_memory_use();
    Session session(model);
    PrefillInput in{prompt.ids, prompt.positions, {}, {}, nullptr};
    in.video_sources = sources;
    in.patterns = sparse ? &patterns : nullptr;
    in.heatmaps = heat ? &heatmaps : nullptr;
    LayerClock clock;
    clock.stop_after = sparse ? 0 : args.dense_layers;
    bool cut = false;
    try {
      session.prefill(in, clock.control());
    } catch (const mmi::runtime::Error& e) {
      if (e.code() != mmi::runtime::ErrorCode::Cancelled || !clock.cancel) throw;
      cut = true;
    }
    const RunStats& st = session.stats();
    const std::int64_t k = args.dense_layers > 1 ? args.dense_layers : 3;
    std::string density = "{";
    for (const auto& [name, d] : st.pattern_density) {
      density += (density.size() > 1 ? ",\"" : "\"") + name + "\":" + std::to_string(d);
    }
    density += "}";
    std::printf("{\"kind\":\"interleaved\",\"mode\":\"%s\",\"tokens\":%lld,\"videos\":%zu,\"video_tokens\":%lld,"
                "\"cut\":%s,\"layer_ms\":%s,\"prefill_ms_extrapolated\":%.1f,\"vision_ms\":%.1f,\"prefill_ms\":%.1f,"
                "\"index_ms\":%.1f,\"density\":%s,\"heatmaps\":%lld,\"heatmap_recall_mean\":%.4f,\"peak_gib\":%.2f}\n",
                mode, static_cast<long long>(n), grids.size(),
                static_cast<long long>((grids[0].t + grids[1].t + grids[2].t) * per_t_tokens), cut ? "true" : "false",
                clock.layers_json().c_str(), clock.extrapolated_ms(k, c.text.layers), st.vision_ms,
                cut ? 0.0 : st.prefill_ms, st.index_ms, density.c_str(), static_cast<long long>(heat ? delivered : 0),
                heat && delivered ? recall_sum / static_cast<double>(delivered) : 0.0,
                static_cast<double>(st.peak_device_bytes) / double(1ull << 30));
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    const auto t_load = std::chrono::steady_clock::now();
    LoadOptions options;
    options.backend = Backend::Cuda;
    options.threads = 16;
    auto model = Model::load(args.model, options);
    const Config& c = model->config();
    std::printf("{\"kind\":\"load\",\"ms\":%.0f,\"backend\":\"%s\",\"weight_bytes\":%llu}\n", ms_since(t_load),
                model->info().backend.c_str(), static_cast<unsigned long long>(model->info().weight_bytes));
    std::fflush(stdout);
    gemm_rates(c.text);

    const GridTHW frame{0, 40, 72};  // 560 × 1008 pixels: 20 × 36 = 720 tokens per temporal patch
    const std::int64_t per_t_tokens = (frame.h / 2) * (frame.w / 2);
    const HeadPatterns mixed = scale_patterns(c.text, true), video = scale_patterns(c.text, false);
    for (std::int64_t target : args.tokens) {
      const GridTHW grid{std::max<std::int64_t>(1, target / per_t_tokens), frame.h, frame.w};
      const synthetic::Prompt prompt = synthetic::video_prompt(c, grid, 14, 24, 1.0, 11);
      const std::int64_t per_t = grid.h * grid.w, patch_dim = c.vision.patch_dim();
      // One thread per temporal patch: the synthetic frames must not be what the vision stage waits for.
      const PixelSource source{grid, [&](std::int64_t t0, std::int64_t count, float* out) {
                                 std::vector<std::thread> threads;
                                 for (std::int64_t t = 0; t < count; ++t) {
                                   threads.emplace_back([&, t] {
                                     synthetic::fill_pixels(5, t0 + t, 1, per_t, patch_dim, out + t * per_t * patch_dim);
                                   });
                                 }
                                 for (auto& th : threads) th.join();
                               }};
      bool decode_pending = args.decode > 0;
      for (const char* mode : {"dense", "sparse_mixed", "sparse_video"}) {
        const bool sparse = std::strcmp(mode, "dense") != 0;
        rc::reset_peak_memory_use();
        Session session(*model);
        PrefillInput in{prompt.ids, prompt.positions, {}, {}, nullptr};
        in.video_sources = std::span<const PixelSource>(&source, 1);
        in.patterns = !sparse ? nullptr : std::strcmp(mode, "sparse_mixed") == 0 ? &mixed : &video;
        LayerClock clock;
        clock.stop_after = sparse ? 0 : args.dense_layers;
        const auto t0 = std::chrono::steady_clock::now();
        bool cut = false;
        try {
          session.prefill(in, clock.control());
        } catch (const mmi::runtime::Error& e) {
          if (e.code() != mmi::runtime::ErrorCode::Cancelled || !clock.cancel) throw;
          cut = true;
        }
        const double total_ms = ms_since(t0);
        const RunStats& st = session.stats();
        const std::int64_t check_k = args.dense_layers > 1 ? args.dense_layers : 3;
        std::printf("{\"kind\":\"layers\",\"mode\":\"%s\",\"tokens\":%zu,\"cut\":%s,\"layers_run\":%zu,"
                    "\"layer_ms\":%s,\"extrapolated_from\":%lld,\"prefill_ms_extrapolated\":%.1f}\n",
                    mode, prompt.ids.size(), cut ? "true" : "false", clock.layer_end_ms.size(),
                    clock.layers_json().c_str(), static_cast<long long>(check_k),
                    clock.extrapolated_ms(check_k, c.text.layers));
        std::fflush(stdout);
        if (cut) continue;
        double decode_ms = 0.0;
        std::int64_t decoded = 0;
        if (decode_pending) {
          decode_pending = false;
          DecodeOptions o;
          o.max_tokens = args.decode;
          // The first step after the pre-fill pays for nothing extra: time them all.
          const auto td = std::chrono::steady_clock::now();
          decoded = static_cast<std::int64_t>(session.decode(o, nullptr).tokens.size());
          decode_ms = ms_since(td);
        }
        std::string density = "{";
        for (const auto& [name, d] : st.pattern_density) {
          density += (density.size() > 1 ? ",\"" : "\"") + name + "\":" + std::to_string(d);
        }
        density += "}";
        std::printf(
            "{\"kind\":\"prefill\",\"mode\":\"%s\",\"tokens\":%zu,\"video_tokens\":%lld,\"temporal_patches\":%lld,"
            "\"vision_ms\":%.1f,\"pixel_fill_ms\":%.1f,\"prefill_ms\":%.1f,\"index_ms\":%.1f,"
            "\"index_estimate_ms\":%.1f,\"index_build_ms\":%.1f,\"density\":%s,\"total_ms\":%.1f,"
            "\"decode_tokens\":%lld,\"decode_ms\":%.1f,\"decode_tps\":%.2f,\"peak_gib\":%.2f}\n",
            mode, prompt.ids.size(), static_cast<long long>(grid.t * per_t_tokens), static_cast<long long>(grid.t),
            st.vision_ms, st.pixel_fill_ms, st.prefill_ms, st.index_ms, st.index_estimate_ms, st.index_build_ms,
            density.c_str(), total_ms, static_cast<long long>(decoded), decode_ms,
            decoded ? 1000.0 * decoded / decode_ms : 0.0, static_cast<double>(st.peak_device_bytes) / double(1ull << 30));
        std::fflush(stdout);
      }
    }

    if (args.interleaved > 0) interleaved_run(*model, args, args.interleaved);

    if (args.refuse > 0) {
      const GridTHW grid{args.refuse / per_t_tokens, frame.h, frame.w};
      const synthetic::Prompt prompt = synthetic::video_prompt(c, grid, 14, 24, 1.0, 13);
      const PixelSource source{grid, [](std::int64_t, std::int64_t, float*) {
                                 throw std::runtime_error("the plan should refuse before any pixel is read");
                               }};
      Session session(*model);
      PrefillInput in{prompt.ids, prompt.positions, {}, {}, nullptr};
      in.video_sources = std::span<const PixelSource>(&source, 1);
      try {
        session.prefill(in);
        std::printf("{\"kind\":\"refusal\",\"tokens\":%zu,\"refused\":false}\n", prompt.ids.size());
      } catch (const mmi::runtime::Error& e) {
        std::printf("{\"kind\":\"refusal\",\"tokens\":%zu,\"refused\":%s,\"code\":\"%s\"}\nREFUSAL: %s\n",
                    prompt.ids.size(), e.code() == mmi::runtime::ErrorCode::OutOfMemory ? "true" : "false",
                    std::string(mmi::runtime::error_code_name(e.code())).c_str(), e.what());
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmi-qwen-gpu-bench: %s\n", e.what());
    return 1;
  }
}
