// The CPU forward against the transformers reference outputs committed with each fixture: pixel values,
// every vision block, the merged features, the decoder's embeddings, every layer, the final norm, the logits,
// 16 greedy tokens and the logits of every decode step. Prints the error of every stage and the timings.
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime_checks.hpp"
#include "fixture_paths.hpp"
#include "mmi/ops/half.hpp"
#include "mmi/runtime/tensor_parallel.hpp"
#include "safetensors_writer.hpp"
#include "mmi/ops/matrix.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/safetensors.hpp"

namespace fs = std::filesystem;
using namespace mmi::qwen2_5_vl;
using mmi::runtime::Dtype;
using mmi::runtime::ErrorCode;
using mmi::runtime::SafetensorsFile;

namespace {

constexpr double kTolerance = 1e-3;  // max |ours − reference| / max |reference| per tensor

class Reference {
 public:
  explicit Reference(const std::string& name) : file_(SafetensorsFile::open(fixtures::dir(name) / "reference.safetensors")) {}

  const mmi::runtime::TensorInfo& info(const std::string& key) const {
    const auto* t = file_.find(key);
    if (t == nullptr) throw std::runtime_error("reference lacks " + key);
    return *t;
  }
  std::vector<float> f32(const std::string& key) const {
    const auto& t = info(key);
    if (t.dtype != Dtype::F32) throw std::runtime_error(key + " is not F32");
    std::vector<float> out(static_cast<std::size_t>(t.numel()));
    mmi::ops::load_row({file_.bytes(t).data(), mmi::ops::ElemType::F32, 1, t.numel()}, 0, 0, t.numel(), out.data());
    return out;
  }
  std::vector<std::int64_t> i64(const std::string& key) const {
    const auto& t = info(key);
    if (t.dtype != Dtype::I64) throw std::runtime_error(key + " is not I64");
    std::vector<std::int64_t> out(static_cast<std::size_t>(t.numel()));
    std::memcpy(out.data(), file_.bytes(t).data(), out.size() * sizeof(std::int64_t));
    return out;
  }
  std::vector<std::uint8_t> u8(const std::string& key) const {
    const auto b = file_.bytes(info(key));
    return {reinterpret_cast<const std::uint8_t*>(b.data()), reinterpret_cast<const std::uint8_t*>(b.data()) + b.size()};
  }

 private:
  SafetensorsFile file_;
};

// Round to nearest even IEEE half (normal range only: the fixtures' weights are far from its limits).
std::uint16_t f32_to_f16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const int exp = static_cast<int>((x >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0) return static_cast<std::uint16_t>(sign);  // flush tiny values to zero
  std::uint32_t man = x & 0x7FFFFFu;
  std::uint32_t h = sign | (static_cast<std::uint32_t>(exp) << 10) | (man >> 13);
  const std::uint32_t rest = man & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(h);
}

double rel_error(const std::vector<float>& ours, const std::vector<float>& ref) {
  if (ours.size() != ref.size()) return INFINITY;
  double diff = 0.0, mag = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::fabs(double(ours[i]) - ref[i]));
    mag = std::max(mag, std::fabs(double(ref[i])));
  }
  return diff / std::max(mag, 1e-30);
}

void expect_close(const std::string& fixture, const std::string& stage, const std::vector<float>& ours,
                  const std::vector<float>& ref, double tolerance = kTolerance) {
  const double e = rel_error(ours, ref);
  std::printf("  %s %-22s max rel error %.3g\n", fixture.c_str(), stage.c_str(), e);
  CHECK(e <= tolerance) << fixture + " " + stage + ": " + std::to_string(e);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Prompt {
  std::vector<std::int32_t> ids;
  std::vector<std::int64_t> positions;
  GridTHW grid;
};

Prompt prompt_of(const Reference& ref) {
  Prompt p;
  for (auto id : ref.i64("input_ids")) p.ids.push_back(static_cast<std::int32_t>(id));
  p.positions = ref.i64("position_ids");
  const auto g = ref.i64("video_grid_thw");
  p.grid = {g[0], g[1], g[2]};
  return p;
}

void check_fixture(const std::string& name) {
  const Reference ref(name);
  LoadOptions options;
  options.threads = 2;
  options.token_chunk = 16;  // several chunks per layer
  auto model = Model::load(fixtures::dir(name) / "model", options);
  const Prompt prompt = prompt_of(ref);

  // Preprocessing: frames -> pixel values in merge-block order.
  const auto& frames_info = ref.info("frames");
  const auto frames = ref.u8("frames");
  auto t0 = std::chrono::steady_clock::now();
  const PixelValues pixels = patchify(frames.data(), frames_info.shape[0], frames_info.shape[1], frames_info.shape[2],
                                      model->preprocessor());
  const double patchify_ms = ms_since(t0);
  CHECK(pixels.grid.t == prompt.grid.t && pixels.grid.h == prompt.grid.h && pixels.grid.w == prompt.grid.w);
  expect_close(name, "pixel_values", pixels.data, ref.f32("pixel_values"), 1e-6);

  // Vision tower, stage by stage, from the reference pixel values.
  PixelValues ref_pixels{ref.f32("pixel_values"), prompt.grid};
  VisionTrace vt;
  t0 = std::chrono::steady_clock::now();
  const auto features = model->encode_video(ref_pixels, {}, &vt);
  const double vision_ms = ms_since(t0);
  expect_close(name, "vision.patch_embed", vt.patch_embed, ref.f32("vision.patch_embed"));
  CHECK(vt.window_index == ref.i64("vision.window_index"));
  for (std::size_t b = 0; b < vt.block_out.size(); ++b) {
    expect_close(name, "vision.block_out." + std::to_string(b), vt.block_out[b],
                 ref.f32("vision.block_out." + std::to_string(b)));
  }
  expect_close(name, "vision.merger_out", vt.merger_out, ref.f32("vision.merger_out"));
  expect_close(name, "vision.features", features, ref.f32("vision.features"));

  // Language model from our own features (end to end).
  Session session(*model);
  ForwardTrace trace;
  PrefillInput input{prompt.ids, prompt.positions, features, {prompt.grid}, nullptr};
  t0 = std::chrono::steady_clock::now();
  const auto last = session.prefill(input, {}, &trace);
  const double prefill_ms = ms_since(t0);
  expect_close(name, "text.inputs_embeds", trace.inputs_embeds, ref.f32("text.inputs_embeds"));
  for (std::size_t l = 0; l < trace.layer_out.size(); ++l) {
    expect_close(name, "text.layer_out." + std::to_string(l), trace.layer_out[l], ref.f32("text.layer_out." + std::to_string(l)));
  }
  expect_close(name, "text.final_norm", trace.final_norm, ref.f32("text.final_norm"));
  expect_close(name, "logits", trace.logits, ref.f32("logits"));
  CHECK(session.next_position() - session.length() == ref.i64("rope_deltas")[0]);
  CHECK(session.layout().size() == 3 && session.layout()[1].kind == Segment::Kind::Video);

  // Greedy decode with the KV cache: 16 tokens identical, every step's logits close.
  const auto want_tokens = ref.i64("greedy.tokens");
  const auto want_logits = ref.f32("greedy.logits");
  const auto vocab = static_cast<std::size_t>(model->config().text.vocab);
  std::vector<float> step_logits;
  DecodeOptions greedy;
  greedy.max_tokens = static_cast<std::int64_t>(want_tokens.size());
  t0 = std::chrono::steady_clock::now();
  const DecodeResult result = session.decode(greedy, [&](std::int32_t) {
    const auto& l = session.last_logits();
    step_logits.insert(step_logits.end(), l.begin(), l.end());
    return true;
  });
  const double decode_ms = ms_since(t0);
  std::vector<std::int64_t> got(result.tokens.begin(), result.tokens.end());
  CHECK(got == want_tokens) << name + ": greedy tokens differ";
  CHECK(result.stop == DecodeResult::Stop::MaxTokens);
  expect_close(name, "greedy.logits", step_logits, want_logits);
  CHECK(step_logits.size() == want_tokens.size() * vocab);
  const auto full_positions = ref.i64("greedy.position_ids");
  CHECK(session.next_position() == full_positions[full_positions.size() / 3 - 1] + 1);

  std::printf("  %s timings (2 threads): patchify %.2f ms, vision %.1f ms (%lld patches), prefill %.1f ms (%zu tokens), "
              "decode %.1f ms (%.1f tokens/s)\n",
              name.c_str(), patchify_ms, vision_ms, static_cast<long long>(prompt.grid.patches()), prefill_ms,
              prompt.ids.size(), decode_ms, 1000.0 * double(want_tokens.size()) / decode_ms);
}

}  // namespace

// Single file, GQA 2:1, 56 px windows, full-attention blocks 1 and 3.
TEST(tiny_a_matches_transformers) { check_fixture("tiny-a"); }

// Sharded, GQA 3:1, tied embeddings, an odd frame count.
TEST(tiny_b_matches_transformers) { check_fixture("tiny-b"); }

TEST(chunk_sizes_change_nothing_but_rounding) {
  const Reference ref("tiny-a");
  const Prompt prompt = prompt_of(ref);
  const PixelValues pixels{ref.f32("pixel_values"), prompt.grid};
  std::vector<std::vector<float>> features, logits;
  for (auto [vision_chunk, token_chunk] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {2, 7}, {8, 4096}}) {
    LoadOptions o;
    o.threads = 1;
    o.vision_chunk_frames = vision_chunk;
    o.token_chunk = token_chunk;
    auto model = Model::load(fixtures::dir("tiny-a") / "model", o);
    features.push_back(model->encode_video(pixels));
    Session s(*model);
    logits.push_back(s.prefill({prompt.ids, prompt.positions, features.back(), {prompt.grid}, nullptr}));
  }
  for (std::size_t i = 1; i < features.size(); ++i) {
    CHECK(rel_error(features[i], features[0]) < 1e-5);
    CHECK(rel_error(logits[i], logits[0]) < 1e-5);
  }
}

// Tensor parallelism's split and merge (runtime/tensor_parallel.hpp) on simulated ranks: each rank's heads, kv
// heads (split or replicated) and MLP columns, the partial outputs summed; the same answer as one rank, within
// fp32 rounding, and the transformers reference's greedy tokens.
TEST(simulated_ranks_give_the_one_rank_answer) {
  for (const auto& [name, ranks] : {std::pair<std::string, std::vector<std::int64_t>>{"tiny-a", {1, 2, 4}},
                                    {"tiny-b", {1, 3}}}) {
    const Reference ref(name);
    const Prompt prompt = prompt_of(ref);
    const auto features = ref.f32("vision.features");
    const auto want_tokens = ref.i64("greedy.tokens");
    std::vector<float> one_rank;
    for (const std::int64_t r : ranks) {
      LoadOptions o;
      o.threads = 2;
      o.token_chunk = 16;
      o.ranks = r;
      auto model = Model::load(fixtures::dir(name) / "model", o);
      CHECK(r == 1 || model->info().backend.find(std::to_string(r) + " simulated ranks") != std::string::npos)
          << model->info().backend;
      Session session(*model);
      ForwardTrace trace;
      session.prefill({prompt.ids, prompt.positions, features, {prompt.grid}, nullptr}, {}, &trace);
      expect_close(name + " ranks " + std::to_string(r), "logits", trace.logits, ref.f32("logits"));
      if (r == 1) one_rank = trace.logits;
      CHECK(rel_error(trace.logits, one_rank) < 1e-5) << name << " ranks " << r;
      DecodeOptions greedy;
      greedy.max_tokens = static_cast<std::int64_t>(want_tokens.size());
      const DecodeResult result = session.decode(greedy, [](std::int32_t) { return true; });
      CHECK(std::vector<std::int64_t>(result.tokens.begin(), result.tokens.end()) == want_tokens)
          << name << " ranks " << r << ": greedy tokens differ";
    }
  }
  // Splits that cannot be made evenly are refused, naming the counts.
  LoadOptions three;
  three.ranks = 3;
  CHECK_THROWS_ERROR(Model::load(fixtures::dir("tiny-a") / "model", three), ErrorCode::InvalidInput, "3 ranks for 4 heads");
}

// The split of Qwen2.5-VL-7B's decoder (28 heads, 4 kv heads, 18944 MLP columns), by hand.
TEST(rank_plans_split_heads_kv_heads_and_columns) {
  using mmi::runtime::plan_ranks;
  const auto two = plan_ranks(28, 4, 18944, 2);
  CHECK(two.size() == 2 && two[1].q_heads.begin == 14 && two[1].q_heads.end == 28);
  CHECK(two[0].kv_heads.begin == 0 && two[0].kv_heads.end == 2 && two[1].kv_heads.begin == 2 && two[1].kv_heads.end == 4);
  CHECK(two[0].columns.end == 9472 && two[1].columns.begin == 9472 && two[1].columns.end == 18944);
  // 28 ranks: one head each, the kv head of its group of 7 replicated.
  const auto each = plan_ranks(28, 4, 18944, 28);
  CHECK(each[13].q_heads.begin == 13 && each[13].kv_heads.begin == 1 && each[13].kv_heads.end == 2);
  CHECK_THROWS_ERROR(plan_ranks(28, 4, 18944, 8), ErrorCode::InvalidInput, "query heads do not divide");
  CHECK_THROWS_ERROR(plan_ranks(28, 4, 18944, 7), ErrorCode::InvalidInput, "kv heads");
  CHECK_THROWS_ERROR(plan_ranks(28, 4, 18944, 0), ErrorCode::InvalidInput, "at least one rank");
}

TEST(streamed_frames_give_the_whole_video_features) {
  for (const std::string name : {"tiny-a", "tiny-b"}) {
    const Reference ref(name);
    const auto& info = ref.info("frames");
    const auto frames = ref.u8("frames");
    auto model = Model::load(fixtures::dir(name) / "model", LoadOptions{1, 1, 512});
    const auto whole = model->encode_video(patchify(frames.data(), info.shape[0], info.shape[1], info.shape[2],
                                                    model->preprocessor()));
    std::vector<std::int64_t> progress;
    RunControl control;
    control.on_progress = [&](Stage, std::int64_t done, std::int64_t) { progress.push_back(done); };
    VideoEncoder encoder(*model, info.shape[1], info.shape[2], control);
    const std::int64_t frame_bytes = info.shape[1] * info.shape[2] * 3;
    for (std::int64_t f = 0; f < info.shape[0]; ++f) encoder.push(frames.data() + f * frame_bytes, 1);
    GridTHW grid;
    const auto streamed = encoder.finish(&grid);
    const auto want = ref.i64("video_grid_thw");
    CHECK(grid.t == want[0] && grid.h == want[1] && grid.w == want[2]);
    CHECK(rel_error(streamed, whole) == 0.0);
    CHECK(static_cast<std::int64_t>(progress.size()) == want[0] && progress.back() == want[0]);
    GridTHW none;
    CHECK_THROWS_ERROR(encoder.finish(&none), ErrorCode::InvalidInput, "no frames");
  }
}

TEST(follow_ups_rewind_cancel_and_bad_input) {
  const Reference ref("tiny-a");
  const Prompt prompt = prompt_of(ref);
  auto model = Model::load(fixtures::dir("tiny-a") / "model", LoadOptions{1, 1, 512});
  const auto features = model->encode_video({ref.f32("pixel_values"), prompt.grid});
  Session s(*model);
  const auto first = s.prefill({prompt.ids, prompt.positions, features, {prompt.grid}, nullptr});
  const std::int64_t prompt_len = s.length();

  // A follow-up of text tokens continues the positions; pre-filling the greedy answer as a follow-up gives
  // the same logits as decoding it.
  const auto want_tokens = ref.i64("greedy.tokens");
  std::vector<std::int32_t> answer(want_tokens.begin(), want_tokens.begin() + 4);
  ForwardTrace trace;
  s.prefill({answer, {}, {}, {}, nullptr}, {}, &trace);
  CHECK(s.length() == prompt_len + 4);
  const auto want_logits = ref.f32("greedy.logits");
  const auto vocab = static_cast<std::size_t>(model->config().text.vocab);
  const auto row = static_cast<std::ptrdiff_t>(vocab);
  const std::vector<float> step4(want_logits.begin() + 4 * row, want_logits.begin() + 5 * row);
  const std::vector<float> ours(trace.logits.end() - row, trace.logits.end());
  CHECK(rel_error(ours, step4) < kTolerance);

  // Rewind to the video prompt and ask again: the same logits as the first time.
  s.rewind(prompt_len);
  CHECK(s.length() == prompt_len && s.layout().back().kind == Segment::Kind::Text);
  CHECK_THROWS_ERROR(s.rewind(prompt_len - 50), ErrorCode::InvalidInput, "video");
  s.rewind(prompt.ids.size() - 1);
  const std::vector<std::int32_t> tail{prompt.ids.back()};
  const std::int64_t tail_pos[3] = {prompt.positions[prompt.ids.size() - 1], prompt.positions[2 * prompt.ids.size() - 1],
                                    prompt.positions[3 * prompt.ids.size() - 1]};
  const auto again = s.prefill({tail, tail_pos, {}, {}, nullptr});
  CHECK(rel_error(again, first) < 1e-6);

  // Cancel: the flag raises Cancelled and leaves the cache as it was.
  std::atomic<bool> cancel{true};
  RunControl control;
  control.cancel = &cancel;
  CHECK_THROWS_ERROR(s.prefill({answer, {}, {}, {}, nullptr}, control), ErrorCode::Cancelled, "cancel");
  CHECK(s.length() == prompt_len);
  CHECK_THROWS_ERROR(model->encode_video({ref.f32("pixel_values"), prompt.grid}, control), ErrorCode::Cancelled, "cancel");

  // Inconsistent input is refused.
  Session fresh(*model);
  CHECK_THROWS_ERROR(fresh.decode({}, nullptr), ErrorCode::InvalidInput, "pre-fill");
  CHECK_THROWS_ERROR(fresh.prefill({prompt.ids, prompt.positions, {}, {prompt.grid}, nullptr}), ErrorCode::InvalidInput,
                    "feature rows");
  CHECK_THROWS_ERROR(fresh.prefill({prompt.ids, {}, features, {prompt.grid}, nullptr}), ErrorCode::InvalidInput,
                    "positions");
  CHECK_THROWS_ERROR(fresh.prefill({prompt.ids, prompt.positions, features, {}, nullptr}), ErrorCode::InvalidInput,
                    "grids");
  const std::vector<std::int32_t> bad{static_cast<std::int32_t>(vocab)};
  CHECK_THROWS_ERROR(fresh.prefill({bad, {}, {}, {}, nullptr}), ErrorCode::InvalidInput, "vocabulary");
  CHECK_THROWS_ERROR(model->encode_video({std::vector<float>(10), prompt.grid}), ErrorCode::InvalidInput, "grid");
  const std::vector<std::uint8_t> frame(30 * 30 * 3);
  CHECK_THROWS_ERROR(patchify(frame.data(), 1, 30, 30, model->preprocessor()), ErrorCode::InvalidInput, "28");
}

TEST(pattern_hook_sees_every_head_and_sampling_is_seeded) {
  const Reference ref("tiny-b");
  const Prompt prompt = prompt_of(ref);
  auto model = Model::load(fixtures::dir("tiny-b") / "model", LoadOptions{2, 1, 512});
  const auto features = model->encode_video({ref.f32("pixel_values"), prompt.grid});

  // A hook that records which heads it was asked for and computes dense attention in float64.
  struct Recorder : PrefillAttention {
    mutable std::mutex mu;
    mutable std::vector<std::pair<std::int64_t, std::int64_t>> seen;
    void run(const AttentionCall& c) const override {
      {
        std::lock_guard<std::mutex> lock(mu);
        seen.emplace_back(c.layer, c.head);
      }
      for (std::int64_t i = 0; i < c.n_q; ++i) {
        const std::int64_t keys = c.q_begin + i + 1;
        std::vector<double> s(static_cast<std::size_t>(keys));
        double mx = -1e300, z = 0;
        for (std::int64_t j = 0; j < keys; ++j) {
          double d = 0;
          for (std::int64_t k = 0; k < c.head_dim; ++k) d += double(c.q[i * c.q_stride + k]) * c.k[j * c.kv_stride + k];
          s[static_cast<std::size_t>(j)] = d * c.scale;
          mx = std::max(mx, s[static_cast<std::size_t>(j)]);
        }
        for (auto& x : s) z += (x = std::exp(x - mx));
        for (std::int64_t k = 0; k < c.head_dim; ++k) {
          double acc = 0;
          for (std::int64_t j = 0; j < keys; ++j) acc += s[static_cast<std::size_t>(j)] / z * c.v[j * c.kv_stride + k];
          c.out[i * c.out_stride + k] = static_cast<float>(acc);
        }
      }
    }
  } hook;
  Session s(*model);
  const auto logits = s.prefill({prompt.ids, prompt.positions, features, {prompt.grid}, &hook});
  const auto& tc = model->config().text;
  CHECK(static_cast<std::int64_t>(hook.seen.size()) == tc.layers * tc.heads);
  const auto ref_logits = ref.f32("logits");
  const std::vector<float> ref_last(ref_logits.end() - tc.vocab, ref_logits.end());
  CHECK(rel_error(logits, ref_last) < kTolerance);

  DecodeOptions top1;
  top1.temperature = 0.8f;
  top1.top_k = 1;
  top1.max_tokens = 3;
  const auto snapshot = s.length();
  const auto a = s.decode(top1, nullptr);
  CHECK(a.tokens[0] == ref.i64("greedy.tokens")[0]);
  auto run = [&](std::uint64_t seed) {
    s.rewind(snapshot - 1);
    const std::vector<std::int32_t> tail{prompt.ids.back()};
    s.prefill({tail, {}, {}, {}, nullptr});
    DecodeOptions o;
    o.temperature = 1.5f;
    o.top_p = 0.9f;
    o.seed = seed;
    o.max_tokens = 8;
    return s.decode(o, nullptr).tokens;
  };
  CHECK(run(5) == run(5));
  DecodeOptions stop;
  stop.max_tokens = 10;
  stop.stop_ids = {static_cast<std::int32_t>(ref.i64("greedy.tokens")[0])};
  s.rewind(snapshot - 1);
  s.prefill({std::vector<std::int32_t>{prompt.ids.back()}, {}, {}, {}, nullptr});
  const std::int64_t before = s.length();
  const auto stopped = s.decode(stop, nullptr);
  CHECK(stopped.stop == DecodeResult::Stop::StopToken && stopped.tokens.size() == 1);
  CHECK(s.length() == before + 1);  // the stop token is in the cache
}

TEST(half_precision_weights_stay_close_to_the_fp32_reference) {
  const Reference ref("tiny-a");
  const Prompt prompt = prompt_of(ref);
  const auto ref_logits = ref.f32("logits");
  for (const std::string dtype : {"BF16", "F16"}) {
    fixtures::ScratchDir dir("half");
    const fs::path m = dir.path() / "model";
    fs::copy(fixtures::dir("tiny-a/model"), m, fs::copy_options::recursive);
    auto entries = st_writer::entries_of(m / "model.safetensors");
    for (auto& e : entries) {
      std::string half(e.bytes.size() / 2, '\0');
      for (std::size_t i = 0; i < e.bytes.size() / 4; ++i) {
        float f;
        std::memcpy(&f, e.bytes.data() + 4 * i, 4);
        std::uint16_t h = dtype == "BF16" ? mmi::ops::f32_to_bf16(f) : f32_to_f16(f);
        std::memcpy(half.data() + 2 * i, &h, 2);
      }
      e.bytes = std::move(half);
      e.dtype = dtype;
    }
    st_writer::write_entries(m / "model.safetensors", entries);
    auto model = Model::load(m, LoadOptions{1, 1, 512});
    CHECK(model->info().dtypes == std::vector<std::string>{dtype});
    const auto features = model->encode_video({ref.f32("pixel_values"), prompt.grid});
    Session s(*model);
    ForwardTrace trace;
    s.prefill({prompt.ids, prompt.positions, features, {prompt.grid}, nullptr}, {}, &trace);
    expect_close("tiny-a/" + dtype, "vision.features", features, ref.f32("vision.features"), dtype == "BF16" ? 3e-2 : 3e-3);
    expect_close("tiny-a/" + dtype, "logits", trace.logits, ref_logits, dtype == "BF16" ? 3e-2 : 3e-3);
  }
}

