// The Qwen2.5-VL CUDA backend: the tiny fixtures against the transformers reference (bf16 tolerances: weights and
// activations are bf16 on the GPU, the reference is fp32), the CUDA backend against the CPU backend on the same
// bf16 weights, and a head-dim-128 random model (written here) that runs the attention core's dense and sparse
// kernels: patterns at full budget reproduce dense, streamed pixels reproduce host features, follow-ups reproduce
// decoding, cancel leaves the cache as it was.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "fixture_paths.hpp"
#include "gpu_test_support.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/ops/half.hpp"
#include "mmi/qwen2_5_vl/model.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/safetensors.hpp"
#include "runtime_checks.hpp"
#include "safetensors_writer.hpp"
#include "synthetic_prompt.hpp"

namespace fs = std::filesystem;
namespace att = mmi::attention;
using namespace mmi::qwen2_5_vl;
using gpu_test::rel_error;
using mmi::runtime::Dtype;
using mmi::runtime::ErrorCode;

namespace {

// The committed fixtures; MMI_FIXTURES_DIR overrides the build's path (binaries built on one machine, run on another).
fs::path fixture(const std::string& name) {
  const char* env = std::getenv("MMI_FIXTURES_DIR");
  return env && *env ? fs::path(env) / name : fixtures::dir(name);
}

// Stated tolerances (max |ours - reference| / max |reference| per tensor).
constexpr double kVsFp32Reference = 6e-2;  // bf16 weights and activations against the fp32 transformers run
constexpr double kVsCpuBackend = 3e-2;     // the same bf16 weights on both backends: only activation rounding differs

LoadOptions gpu_options() {
  LoadOptions o;
  o.threads = 2;
  o.backend = Backend::Cuda;
  return o;
}

LoadOptions cpu_options() {
  LoadOptions o;
  o.threads = 2;
  return o;
}

class Reference {
 public:
  explicit Reference(const std::string& name)
      : file_(mmi::runtime::SafetensorsFile::open(fixture(name) / "reference.safetensors")) {}
  const mmi::runtime::TensorInfo& info(const std::string& key) const {
    const auto* t = file_.find(key);
    if (!t) throw std::runtime_error("reference lacks " + key);
    return *t;
  }
  std::vector<float> f32(const std::string& key) const {
    const auto b = file_.bytes(info(key));
    std::vector<float> out(b.size() / 4);
    std::memcpy(out.data(), b.data(), b.size());
    return out;
  }
  std::vector<std::int64_t> i64(const std::string& key) const {
    const auto b = file_.bytes(info(key));
    std::vector<std::int64_t> out(b.size() / 8);
    std::memcpy(out.data(), b.data(), b.size());
    return out;
  }

 private:
  mmi::runtime::SafetensorsFile file_;
};

void expect(const std::string& what, double error, double tolerance) {
  std::printf("  %-44s max rel error %.3g (tolerance %.0e)\n", what.c_str(), error, tolerance);
  CHECK(error <= tolerance) << what << ": " << error;
}

// A copy of a fixture folder with every weight rounded to bf16: what both backends then compute from is identical.
void write_bf16_copy(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive);
  for (const auto& entry : fs::directory_iterator(to)) {
    if (entry.path().extension() != ".safetensors") continue;
    auto entries = st_writer::entries_of(entry.path());
    for (auto& e : entries) {
      if (e.dtype != "F32") continue;
      std::string half(e.bytes.size() / 2, '\0');
      for (std::size_t i = 0; i < e.bytes.size() / 4; ++i) {
        float f;
        std::memcpy(&f, e.bytes.data() + 4 * i, 4);
        const std::uint16_t h = mmi::ops::f32_to_bf16(f);
        std::memcpy(half.data() + 2 * i, &h, 2);
      }
      e.bytes = std::move(half);
      e.dtype = "BF16";
    }
    st_writer::write_entries(entry.path(), entries);
  }
}

void check_fixture(const std::string& name) {
  const Reference ref(name);
  auto model = Model::load(fixture(name) / "model", gpu_options());
  CHECK(model->info().backend.rfind("cuda: ", 0) == 0) << model->info().backend;
  std::vector<std::int32_t> ids;
  for (auto id : ref.i64("input_ids")) ids.push_back(static_cast<std::int32_t>(id));
  const auto positions = ref.i64("position_ids");
  const auto g = ref.i64("video_grid_thw");
  const GridTHW grid{g[0], g[1], g[2]};

  VisionTrace vt;
  const auto features = model->encode_video({ref.f32("pixel_values"), grid}, {}, &vt);
  expect(name + " vision.patch_embed", rel_error(vt.patch_embed, ref.f32("vision.patch_embed")), kVsFp32Reference);
  CHECK(vt.window_index == ref.i64("vision.window_index"));
  for (std::size_t b = 0; b < vt.block_out.size(); ++b) {
    const std::string key = "vision.block_out." + std::to_string(b);
    expect(name + " " + key, rel_error(vt.block_out[b], ref.f32(key)), kVsFp32Reference);
  }
  expect(name + " vision.merger_out", rel_error(vt.merger_out, ref.f32("vision.merger_out")), kVsFp32Reference);
  expect(name + " vision.features", rel_error(features, ref.f32("vision.features")), kVsFp32Reference);

  Session session(*model);
  ForwardTrace trace;
  session.prefill({ids, positions, features, {grid}, nullptr}, {}, &trace);
  expect(name + " text.inputs_embeds", rel_error(trace.inputs_embeds, ref.f32("text.inputs_embeds")), kVsFp32Reference);
  for (std::size_t l = 0; l < trace.layer_out.size(); ++l) {
    const std::string key = "text.layer_out." + std::to_string(l);
    expect(name + " " + key, rel_error(trace.layer_out[l], ref.f32(key)), kVsFp32Reference);
  }
  expect(name + " text.final_norm", rel_error(trace.final_norm, ref.f32("text.final_norm")), kVsFp32Reference);
  const auto ref_logits = ref.f32("logits");
  expect(name + " logits", rel_error(trace.logits, ref_logits), kVsFp32Reference);
  CHECK(session.next_position() - session.length() == ref.i64("rope_deltas")[0]);

  // Greedy decoding: tokens identical for as long as the reference's choice is clear of the bf16 error (its top
  // two logits further apart than twice the largest logit error seen in the pre-fill).
  double max_abs = 0.0, err_abs = 0.0;
  for (std::size_t i = 0; i < ref_logits.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(ref_logits[i])));
    err_abs = std::max(err_abs, std::fabs(double(trace.logits[i]) - ref_logits[i]));
  }
  const auto want = ref.i64("greedy.tokens");
  const auto step_logits = ref.f32("greedy.logits");
  const auto vocab = static_cast<std::size_t>(model->config().text.vocab);
  DecodeOptions greedy;
  greedy.max_tokens = static_cast<std::int64_t>(want.size());
  const DecodeResult result = session.decode(greedy, nullptr);
  std::size_t compared = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    std::vector<float> row(step_logits.begin() + i * vocab, step_logits.begin() + (i + 1) * vocab);
    std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<>());
    if (row[0] - row[1] <= 2.0 * err_abs) break;
    CHECK(result.tokens[i] == want[i]) << name << " greedy token " << i;
    ++compared;
  }
  std::printf("  %s greedy tokens: %zu of %zu compared (clear of the error), all equal; logit error %.3g of %.3g\n",
              name.c_str(), compared, want.size(), err_abs, max_abs);
  CHECK(compared >= 1) << "no greedy step clear of the error to compare";
}

// Decodes greedily on both backends and compares each step's logits for as long as both fed back the same tokens
// (a step's logits depend only on the tokens before it).
void compare_decoding(Session& a, Session& b, std::int64_t steps, const std::string& what) {
  DecodeOptions o;
  o.max_tokens = steps;
  std::vector<std::vector<float>> la, lb;
  const auto ra = a.decode(o, [&](std::int32_t) { la.push_back(a.last_logits()); return true; });
  const auto rb = b.decode(o, [&](std::int32_t) { lb.push_back(b.last_logits()); return true; });
  std::vector<float> fa, fb;
  std::size_t same = 0;
  for (std::size_t i = 0; i < la.size() && i < lb.size(); ++i) {
    fa.insert(fa.end(), la[i].begin(), la[i].end());
    fb.insert(fb.end(), lb[i].begin(), lb[i].end());
    if (ra.tokens[i] != rb.tokens[i]) break;
    ++same;
  }
  std::printf("  %s: %zu of %lld decoded tokens equal\n", what.c_str(), same, static_cast<long long>(steps));
  expect(what + " (logits while the tokens agree)", rel_error(fa, fb), kVsCpuBackend);
}

void check_against_cpu(const std::string& name) {
  const Reference ref(name);
  fixtures::ScratchDir dir("cuda-vs-cpu");
  write_bf16_copy(fixture(name) / "model", dir.path() / "model");
  auto gpu = Model::load(dir.path() / "model", gpu_options());
  auto cpu = Model::load(dir.path() / "model", cpu_options());
  std::vector<std::int32_t> ids;
  for (auto id : ref.i64("input_ids")) ids.push_back(static_cast<std::int32_t>(id));
  const auto positions = ref.i64("position_ids");
  const auto g = ref.i64("video_grid_thw");
  const GridTHW grid{g[0], g[1], g[2]};
  const PixelValues px{ref.f32("pixel_values"), grid};
  const auto fg = gpu->encode_video(px), fc = cpu->encode_video(px);
  expect(name + " CUDA vs CPU vision features", rel_error(fg, fc), kVsCpuBackend);
  Session sg(*gpu), sc(*cpu);
  const auto lg = sg.prefill({ids, positions, fc, {grid}, nullptr});
  const auto lc = sc.prefill({ids, positions, fc, {grid}, nullptr});
  expect(name + " CUDA vs CPU logits", rel_error(lg, lc), kVsCpuBackend);
  compare_decoding(sg, sc, 8, name + " CUDA vs CPU decoding");
}

// --- A random model with the real head dims of Qwen2.5-VL (vision 80, language 128) -------------------------

struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  float scale, offset;
};

void write_random_model(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({
  "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
  "bos_token_id": 500, "eos_token_id": 501, "image_token_id": 505, "video_token_id": 506,
  "vision_start_token_id": 503, "vision_end_token_id": 504, "vocab_size": 512, "hidden_size": 256,
  "intermediate_size": 512, "num_hidden_layers": 3, "num_attention_heads": 2, "num_key_value_heads": 1,
  "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
  "max_position_embeddings": 32768, "tie_word_embeddings": false, "hidden_act": "silu",
  "vision_config": {"depth": 2, "hidden_size": 160, "intermediate_size": 96, "num_heads": 2, "out_hidden_size": 256,
    "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
    "fullatt_block_indexes": [1], "tokens_per_second": 2, "in_chans": 3, "hidden_act": "silu"}
})";
  std::vector<Tensor> t;
  const std::int64_t V = 160, VI = 96, D = 256, I = 512, vocab = 512;
  t.push_back({"visual.patch_embed.proj.weight", {V, 3, 2, 14, 14}, 0.03f, 0});
  for (int b = 0; b < 2; ++b) {
    const std::string p = "visual.blocks." + std::to_string(b) + ".";
    t.push_back({p + "norm1.weight", {V}, 0.1f, 1});
    t.push_back({p + "norm2.weight", {V}, 0.1f, 1});
    t.push_back({p + "attn.qkv.weight", {3 * V, V}, 0.08f, 0});
    t.push_back({p + "attn.qkv.bias", {3 * V}, 0.02f, 0});
    t.push_back({p + "attn.proj.weight", {V, V}, 0.08f, 0});
    t.push_back({p + "attn.proj.bias", {V}, 0.02f, 0});
    t.push_back({p + "mlp.gate_proj.weight", {VI, V}, 0.08f, 0});
    t.push_back({p + "mlp.gate_proj.bias", {VI}, 0.02f, 0});
    t.push_back({p + "mlp.up_proj.weight", {VI, V}, 0.08f, 0});
    t.push_back({p + "mlp.up_proj.bias", {VI}, 0.02f, 0});
    t.push_back({p + "mlp.down_proj.weight", {V, VI}, 0.08f, 0});
    t.push_back({p + "mlp.down_proj.bias", {V}, 0.02f, 0});
  }
  t.push_back({"visual.merger.ln_q.weight", {V}, 0.1f, 1});
  t.push_back({"visual.merger.mlp.0.weight", {4 * V, 4 * V}, 0.04f, 0});
  t.push_back({"visual.merger.mlp.0.bias", {4 * V}, 0.02f, 0});
  t.push_back({"visual.merger.mlp.2.weight", {D, 4 * V}, 0.04f, 0});
  t.push_back({"visual.merger.mlp.2.bias", {D}, 0.02f, 0});
  t.push_back({"model.embed_tokens.weight", {vocab, D}, 0.5f, 0});
  for (int l = 0; l < 3; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {D}, 0.1f, 1});
    t.push_back({p + "post_attention_layernorm.weight", {D}, 0.1f, 1});
    t.push_back({p + "self_attn.q_proj.weight", {D, D}, 0.12f, 0});
    t.push_back({p + "self_attn.q_proj.bias", {D}, 0.05f, 0});
    t.push_back({p + "self_attn.k_proj.weight", {D / 2, D}, 0.12f, 0});
    t.push_back({p + "self_attn.k_proj.bias", {D / 2}, 0.05f, 0});
    t.push_back({p + "self_attn.v_proj.weight", {D / 2, D}, 0.06f, 0});
    t.push_back({p + "self_attn.v_proj.bias", {D / 2}, 0.05f, 0});
    t.push_back({p + "self_attn.o_proj.weight", {D, D}, 0.06f, 0});
    t.push_back({p + "mlp.gate_proj.weight", {I, D}, 0.06f, 0});
    t.push_back({p + "mlp.up_proj.weight", {I, D}, 0.06f, 0});
    t.push_back({p + "mlp.down_proj.weight", {D, I}, 0.04f, 0});
  }
  t.push_back({"model.norm.weight", {D}, 0.1f, 1});
  t.push_back({"lm_head.weight", {vocab, D}, 0.06f, 0});
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<st_writer::Entry> entries;
  for (const auto& x : t) {
    std::int64_t count = 1;
    for (auto d : x.shape) count *= d;
    std::string bytes(static_cast<std::size_t>(count) * 2, '\0');
    for (std::int64_t i = 0; i < count; ++i) {
      const std::uint16_t h = mmi::ops::f32_to_bf16(x.offset + x.scale * normal(rng));
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
    entries.push_back({x.name, "BF16", x.shape, std::move(bytes)});
  }
  st_writer::write_entries(dir / "model.safetensors", entries);
}

struct RandomModel {
  fixtures::ScratchDir dir{"cuda-random-model"};
  std::unique_ptr<Model> gpu, cpu;
  synthetic::Prompt prompt;
  RandomModel() {
    write_random_model(dir.path() / "model");
    gpu = Model::load(dir.path() / "model", gpu_options());
    cpu = Model::load(dir.path() / "model", cpu_options());
    // 6 temporal patches of 16 × 24 patches: 576 video tokens, ~620 in all (ten 64-token blocks).
    prompt = synthetic::video_prompt(gpu->config(), {6, 16, 24}, 14, 27, 1.0, 7);
  }
  std::vector<float> pixels() const {
    const auto& vc = gpu->config().vision;
    const std::int64_t per_t = prompt.grid.h * prompt.grid.w;
    std::vector<float> px(static_cast<std::size_t>(prompt.grid.t * per_t * vc.patch_dim()));
    synthetic::fill_pixels(3, 0, prompt.grid.t, per_t, vc.patch_dim(), px.data());
    return px;
  }
};

// Every layer's q and k as a backend shows them to an observer, in fp32 ([heads][rows][head_dim]).
class RecordingObserver final : public PrefillObserver {
 public:
  struct Layer {
    std::int64_t layer = 0, q_begin = 0;
    att::DType dtype = att::DType::f32;
    std::int64_t heads = 0, kv_heads = 0, rows = 0, keys = 0;
    std::vector<float> q, k;
  };
  std::vector<Layer> layers;

  void observe(const LayerQk& seen) override {
    layers.push_back({seen.layer, seen.q_begin, seen.q.dtype, seen.q.heads, seen.k.heads, seen.q.n, seen.k.n,
                      flat(seen.q), flat(seen.k)});
  }

 private:
  static std::vector<float> flat(const att::HeadsView& v) {
    std::vector<float> out(static_cast<std::size_t>(v.heads * v.n * v.dim));
    for (std::int64_t h = 0; h < v.heads; ++h) {
      for (std::int64_t r = 0; r < v.n; ++r) v.load_row(h, r, out.data() + (h * v.n + r) * v.dim);
    }
    return out;
  }
};

HeadPatterns patterns_for(const Model& m, const std::vector<att::PatternConfig>& per_head_of_layer) {
  const auto& c = m.config().text;
  HeadPatterns p;
  p.layers = c.layers;
  p.heads = c.heads;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      p.configs.push_back(per_head_of_layer[static_cast<std::size_t>((h + l) % per_head_of_layer.size())]);
    }
  }
  return p;
}

}  // namespace

// Single file, GQA 2:1, 56 px windows, full-attention blocks 1 and 3 (head dims 16).
TEST(tiny_a_on_cuda_matches_transformers) { check_fixture("tiny-a"); }
// Sharded, GQA 3:1, tied embeddings, odd frame count (head dims 32).
TEST(tiny_b_on_cuda_matches_transformers) { check_fixture("tiny-b"); }

TEST(cuda_and_cpu_backends_agree_on_the_fixtures) {
  check_against_cpu("tiny-a");
  check_against_cpu("tiny-b");
}

TEST(random_model_with_real_head_dims_agrees_with_the_cpu) {
  RandomModel m;
  const PixelValues px{m.pixels(), m.prompt.grid};
  const auto fg = m.gpu->encode_video(px), fc = m.cpu->encode_video(px);
  expect("random model CUDA vs CPU vision features", rel_error(fg, fc), kVsCpuBackend);
  Session sg(*m.gpu), sc(*m.cpu);
  const PrefillInput in{m.prompt.ids, m.prompt.positions, fc, {m.prompt.grid}, nullptr};
  const auto lg = sg.prefill(in), lc = sc.prefill(in);
  expect("random model CUDA (core dense kernel) vs CPU logits", rel_error(lg, lc), kVsCpuBackend);
  compare_decoding(sg, sc, 8, "random model CUDA vs CPU decoding");
}

// The offline search watches the pre-fill on either backend: the GPU's q and k (bf16, after rotary) match the CPU
// backend's, every layer in order, and watching changes nothing the GPU computes.
TEST(observed_queries_and_keys_agree_with_the_cpu_backend) {
  RandomModel m;
  const auto features = m.cpu->encode_video({m.pixels(), m.prompt.grid});
  PrefillInput in{m.prompt.ids, m.prompt.positions, features, {m.prompt.grid}, nullptr};
  Session plain(*m.gpu), sg(*m.gpu), sc(*m.cpu);
  const auto unobserved = plain.prefill(in);
  RecordingObserver og, oc;
  in.observer = &og;
  const auto lg = sg.prefill(in);
  in.observer = &oc;
  sc.prefill(in);
  expect("logits with and without an observer (CUDA)", rel_error(lg, unobserved), 1e-6);
  const auto& c = m.gpu->config().text;
  const auto n = static_cast<std::int64_t>(m.prompt.ids.size());
  const bool every_layer = static_cast<std::int64_t>(og.layers.size()) == c.layers && oc.layers.size() == og.layers.size();
  CHECK(every_layer) << og.layers.size() << " and " << oc.layers.size() << " layers observed";
  if (!every_layer) return;
  double q_error = 0.0, k_error = 0.0;
  for (std::size_t l = 0; l < og.layers.size(); ++l) {
    const auto& g = og.layers[l];
    const auto& h = oc.layers[l];
    CHECK(g.layer == static_cast<std::int64_t>(l) && h.layer == g.layer && g.q_begin == 0 && h.q_begin == 0);
    CHECK(g.dtype == att::DType::bf16 && h.dtype == att::DType::f32);
    CHECK(g.heads == c.heads && g.kv_heads == c.kv_heads && g.rows == n && g.keys == n);
    CHECK(h.heads == g.heads && h.kv_heads == g.kv_heads && h.rows == g.rows && h.keys == g.keys);
    q_error = std::max(q_error, rel_error(g.q, h.q));
    k_error = std::max(k_error, rel_error(g.k, h.k));
  }
  expect("observed q (post-rotary), CUDA vs CPU, every layer", q_error, kVsCpuBackend);
  expect("observed k (post-rotary), CUDA vs CPU, every layer", k_error, kVsCpuBackend);
}

TEST(streamed_pixels_give_the_features_path_and_stats) {
  RandomModel m;
  const auto px = m.pixels();
  const auto features = m.gpu->encode_video({px, m.prompt.grid});
  Session a(*m.gpu), b(*m.gpu);
  const auto la = a.prefill({m.prompt.ids, m.prompt.positions, features, {m.prompt.grid}, nullptr});
  const auto& vc = m.gpu->config().vision;
  const PixelSource source{m.prompt.grid, [&](std::int64_t t0, std::int64_t count, float* out) {
                             const std::int64_t per_t = m.prompt.grid.h * m.prompt.grid.w * vc.patch_dim();
                             std::copy(px.begin() + t0 * per_t, px.begin() + (t0 + count) * per_t, out);
                           }};
  PrefillInput in{m.prompt.ids, m.prompt.positions, {}, {}, nullptr};
  in.video_sources = std::span<const PixelSource>(&source, 1);
  const auto lb = b.prefill(in);
  expect("streamed pixels vs host features (logits)", rel_error(lb, la), 1e-3);
  CHECK(b.stats().vision_ms > 0.0 && b.stats().prefill_ms > 0.0 && b.stats().peak_device_bytes > 0);
}

TEST(patterns_at_full_budget_reproduce_dense_and_small_budgets_run) {
  RandomModel m;
  const auto features = m.gpu->encode_video({m.pixels(), m.prompt.grid});
  const PrefillInput dense_in{m.prompt.ids, m.prompt.positions, features, {m.prompt.grid}, nullptr};
  Session dense(*m.gpu);
  const auto ld = dense.prefill(dense_in);
  const auto n = static_cast<std::int64_t>(m.prompt.ids.size());

  att::PatternConfig a_shape, vs, grid, dense_head, block, qb, twod;
  a_shape.pattern = att::Pattern::a_shape;
  a_shape.sink_tokens = n;
  a_shape.local_tokens = n;
  vs.pattern = att::Pattern::vertical_slash;
  vs.vertical_slash = {n, n};
  block.pattern = att::Pattern::block_sparse;
  block.top_k_blocks = n;
  qb.pattern = att::Pattern::q_boundary;
  qb.text_rows = qb.video_rows = {n, 2 * n};
  twod.pattern = att::Pattern::two_d_boundary;
  twod.text_to_text = twod.text_to_video = twod.video_to_text = twod.video_to_video = {n, 2 * n};
  PrefillInput in = dense_in;
  // Every pattern but grid at full budget keeps every causal key. (The grid pattern cannot: its GPU index keeps at
  // most 16 phase lines, so later phases of earlier frames stay out; it is run with real budgets below.)
  for (const auto& [name, configs] : std::vector<std::pair<std::string, std::vector<att::PatternConfig>>>{
           {"a_shape", {a_shape}},
           {"vertical_slash", {vs}},
           {"block_sparse", {block}},
           {"q_boundary", {qb}},
           {"two_d_boundary", {twod}},
           {"mixed", {a_shape, vs, dense_head, block, qb, twod}}}) {
    const HeadPatterns full = patterns_for(*m.gpu, configs);
    in.patterns = &full;
    Session sparse(*m.gpu);
    const auto ls = sparse.prefill(in);
    expect(name + " at full budget vs dense (logits)", rel_error(ls, ld), 1e-2);
    // Vertical-slash estimates and builds an index per layer; A-shape's is built once, before the layers.
    if (name != "a_shape") {
      CHECK(sparse.stats().index_ms > 0.0);
    }
  }

  // Budgets that drop keys: the run completes, finite, and differs from dense.
  a_shape.sink_tokens = 64;
  a_shape.local_tokens = 128;
  vs.vertical_slash = {40, 100};
  grid.pattern = att::Pattern::grid;
  grid.local_tokens = 64;
  grid.sink_tokens = 32;
  grid.grid_lines = 2;
  block.top_k_blocks = 3;
  qb.text_rows = qb.video_rows = {40, 100};
  twod.text_to_text = twod.text_to_video = twod.video_to_text = twod.video_to_video = {40, 100};
  const HeadPatterns small = patterns_for(*m.gpu, {a_shape, vs, grid, block, qb, twod});
  in.patterns = &small;
  Session cut(*m.gpu);
  const auto lc = cut.prefill(in);
  const double diff = rel_error(lc, ld);
  std::printf("  small budgets vs dense (logits): %.3g\n", diff);
  CHECK(std::isfinite(diff) && diff > 1e-4);
  CHECK(cut.stats().index_ms > 0.0);
  for (const auto& [pattern, density] : cut.stats().pattern_density) {
    std::printf("  %s keeps %.3f of the dense tiles\n", pattern.c_str(), density);
    CHECK(density > 0.0 && density < 1.0) << pattern;
  }
  // More phase lines than the GPU grid index keeps: refused with a clear error, before any work.
  grid.grid_lines = 17;
  const HeadPatterns too_many = patterns_for(*m.gpu, {grid});
  in.patterns = &too_many;
  Session lines(*m.gpu);
  CHECK_THROWS_ERROR(lines.prefill(in), ErrorCode::InvalidInput, "16 phase lines");

  // Patterns of another model's shape are refused before any work.
  HeadPatterns other = patterns_for(*m.gpu, {block});
  other.layers -= 1;
  other.configs.resize(static_cast<std::size_t>(other.layers * other.heads));
  in.patterns = &other;
  Session refused(*m.gpu);
  CHECK_THROWS_ERROR(refused.prefill(in), ErrorCode::InvalidInput, "layers");
  CHECK(refused.length() == 0);
}

// Mixed modality: text and three videos interleaved (four modality switches and back), the boundary patterns at
// full budget reproduce dense, and at small budgets run (finite, different from dense).
TEST(interleaved_videos_run_the_boundary_patterns) {
  RandomModel m;
  const synthetic::Prompt p =
      synthetic::interleaved_prompt(m.gpu->config(), {{2, 8, 12}, {4, 16, 24}, {2, 12, 16}}, {21, 40, 9, 33}, 1.0, 17);
  const auto n = static_cast<std::int64_t>(p.ids.size());
  std::vector<float> features;
  std::vector<GridTHW> grids;
  for (const GridTHW g : {GridTHW{2, 8, 12}, GridTHW{4, 16, 24}, GridTHW{2, 12, 16}}) {
    const auto& vc = m.gpu->config().vision;
    std::vector<float> px(static_cast<std::size_t>(g.t * g.h * g.w * vc.patch_dim()));
    synthetic::fill_pixels(5 + grids.size(), 0, g.t, g.h * g.w, vc.patch_dim(), px.data());
    const auto f = m.gpu->encode_video({px, g});
    features.insert(features.end(), f.begin(), f.end());
    grids.push_back(g);
  }
  const PrefillInput dense_in{p.ids, p.positions, features, grids, nullptr};
  Session dense(*m.gpu);
  const auto ld = dense.prefill(dense_in);
  CHECK(dense.layout().size() == 7) << dense.layout().size() << " segments";
  att::PatternConfig qb, twod, vs;
  qb.pattern = att::Pattern::q_boundary;
  qb.text_rows = qb.video_rows = {n, 2 * n};
  twod.pattern = att::Pattern::two_d_boundary;
  twod.text_to_text = twod.text_to_video = twod.video_to_text = twod.video_to_video = {n, 2 * n};
  PrefillInput in = dense_in;
  const HeadPatterns full = patterns_for(*m.gpu, {qb, twod});
  in.patterns = &full;
  Session sparse(*m.gpu);
  expect("interleaved videos, boundary patterns at full budget vs dense (logits)", rel_error(sparse.prefill(in), ld),
         1e-2);
  qb.text_rows = qb.video_rows = {40, 100};
  twod.text_to_text = twod.text_to_video = twod.video_to_text = twod.video_to_video = {40, 100};
  vs.pattern = att::Pattern::vertical_slash;
  vs.vertical_slash = {40, 100};
  const HeadPatterns small = patterns_for(*m.gpu, {qb, twod, vs});
  in.patterns = &small;
  Session cut(*m.gpu);
  const double diff = rel_error(cut.prefill(in), ld);
  std::printf("  interleaved videos, small boundary budgets vs dense (logits): %.3g\n", diff);
  CHECK(std::isfinite(diff) && diff > 1e-4);
  for (const auto& [pattern, density] : cut.stats().pattern_density) {
    std::printf("  %s keeps %.3f of the dense tiles\n", pattern.c_str(), density);
    CHECK(density > 0.0 && density < 1.0) << pattern;
  }
}

// Heatmaps from the GPU pre-fill: each requested head's, after its layer, on the index it ran. Against the CPU
// core's heatmaps of the same (observed, bf16) q and k: a dense head and an A-shape head (whose index depends on N
// alone) in full; a Q-boundary head's attention mass in original order (the mass does not depend on the index),
// and its mask's recall below 1 at a small budget.
TEST(heatmaps_come_from_the_gpu_prefill) {
  RandomModel m;
  const auto features = m.gpu->encode_video({m.pixels(), m.prompt.grid});
  const auto n = static_cast<std::int64_t>(m.prompt.ids.size());
  att::PatternConfig dense_head, a_shape, qb;
  a_shape.pattern = att::Pattern::a_shape;
  a_shape.sink_tokens = 64;
  a_shape.local_tokens = 128;
  qb.pattern = att::Pattern::q_boundary;
  qb.text_rows = qb.video_rows = {40, 100};
  const HeadPatterns patterns = patterns_for(*m.gpu, {dense_head, a_shape, qb});
  const auto& c = m.gpu->config().text;
  HeatmapRequest request;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    for (std::int64_t h = 0; h < c.heads; ++h) request.heads.push_back({l, h});
  }
  request.options.grid = 32;
  request.options.samples = 24;
  std::vector<PrefillHeatmap> got;
  request.deliver = [&](const PrefillHeatmap& h) { got.push_back(h); };
  RecordingObserver seen;
  PrefillInput in{m.prompt.ids, m.prompt.positions, features, {m.prompt.grid}, nullptr};
  in.patterns = &patterns;
  in.heatmaps = &request;
  in.observer = &seen;
  Session s(*m.gpu);
  s.prefill(in);
  CHECK(static_cast<std::int64_t>(got.size()) == c.layers * c.heads) << got.size() << " heatmaps";
  if (static_cast<std::int64_t>(seen.layers.size()) != c.layers) return;
  bool ordered = true;
  for (std::size_t i = 1; i < got.size(); ++i) ordered = ordered && got[i - 1].layer <= got[i].layer;
  CHECK(ordered) << "heatmaps come in layer order";
  double mass_error = 0.0;
  for (const PrefillHeatmap& g : got) {
    const auto& layer = seen.layers[static_cast<std::size_t>(g.layer)];
    const att::HeadsView q{layer.q.data(), att::DType::f32, layer.heads, layer.rows, c.head_dim, 0, 0};
    const att::HeadsView k{layer.k.data(), att::DType::f32, layer.kv_heads, layer.keys, c.head_dim, 0, 0};
    const att::PatternConfig& cfg = patterns.at(g.layer, g.head);
    CHECK(g.pattern == cfg.pattern && g.heatmap.head == g.head && g.heatmap.grid == 32);
    const mmi::SparseIndex index = cfg.pattern == att::Pattern::a_shape
                                  ? att::a_shape_index(n, cfg.sink_tokens, cfg.local_tokens)
                                  : att::full_index(n);
    std::vector<mmi::SparseIndex> per_head(static_cast<std::size_t>(layer.heads), index);
    att::HeatmapOptions o = request.options;
    o.causal = true;
    const std::int64_t head = g.head;
    const att::Heatmap ref = att::heatmaps(q, k, per_head, std::span(&head, 1), o)[0];
    mass_error = std::max(mass_error, rel_error(g.heatmap.mass, ref.mass));
    CHECK(g.heatmap.rows == ref.rows && g.heatmap.row_samples == ref.row_samples);
    if (cfg.pattern == att::Pattern::q_boundary) {
      CHECK(g.heatmap.recall > 0.0 && g.heatmap.recall < 1.0) << g.heatmap.recall;
      CHECK(g.heatmap.coverage > 0.0 && g.heatmap.coverage < 1.0) << g.heatmap.coverage;
    } else {
      CHECK(g.heatmap.mask == ref.mask && g.heatmap.mask_permuted == ref.mask_permuted) << g.layer << "/" << g.head;
      CHECK(std::fabs(g.heatmap.recall - std::min(1.0, ref.recall)) < 1e-3) << g.heatmap.recall << " vs " << ref.recall;
    }
  }
  expect("GPU pre-fill heatmaps' mass vs the CPU core on the observed q and k", mass_error, 1e-3);
}

TEST(follow_ups_decode_rewind_and_cancel_on_cuda) {
  RandomModel m;
  const auto features = m.gpu->encode_video({m.pixels(), m.prompt.grid});
  Session s(*m.gpu);
  s.prefill({m.prompt.ids, m.prompt.positions, features, {m.prompt.grid}, nullptr});
  const std::int64_t prompt_len = s.length();
  DecodeOptions o;
  o.max_tokens = 5;
  std::vector<std::vector<float>> steps;
  const auto answer = s.decode(o, [&](std::int32_t) { steps.push_back(s.last_logits()); return true; });
  // The same answer pre-filled as a follow-up (the model's causal continuation kernel) gives the decode logits.
  s.rewind(prompt_len);
  std::vector<std::int32_t> tokens(answer.tokens.begin(), answer.tokens.end() - 1);
  ForwardTrace trace;
  s.prefill({tokens, {}, {}, {}, nullptr}, {}, &trace);
  const auto vocab = static_cast<std::ptrdiff_t>(m.gpu->config().text.vocab);
  // Row i of the follow-up holds the logits after token i: what decoding had when it chose token i + 1.
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::vector<float> row(trace.logits.begin() + i * vocab, trace.logits.begin() + (i + 1) * vocab);
    expect("follow-up row " + std::to_string(i) + " vs decode step " + std::to_string(i + 1),
           rel_error(row, steps[i + 1]), 2e-2);
  }
  std::atomic<bool> cancel{true};
  RunControl control;
  control.cancel = &cancel;
  const std::int64_t before = s.length();
  CHECK_THROWS_ERROR(s.prefill({tokens, {}, {}, {}, nullptr}, control), ErrorCode::Cancelled, "cancel");
  CHECK(s.length() == before);
  // A CPU attention hook is the CPU backend's; the GPU says so.
  struct Hook : PrefillAttention {
    void run(const AttentionCall&) const override {}
  } hook;
  CHECK_THROWS_ERROR(s.prefill({tokens, {}, {}, {}, &hook}), ErrorCode::InvalidInput, "GPU");
}

GPU_TEST_MAIN
