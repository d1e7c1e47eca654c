#include "mmi/qwen2_5_vl/model.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "gpu_backend.hpp"
#include "language.hpp"
#include "mmi/ops/thread_pool.hpp"
#include "mmi/runtime/errors.hpp"
#include "mmi/runtime/model_folder.hpp"
#include "sampler.hpp"
#include "vision.hpp"

namespace mmi::qwen2_5_vl {

using runtime::Error;
using runtime::ErrorCode;

struct Model::Impl {
  runtime::ModelFolder folder;
  Config config;
  PreprocessorConfig preprocessor;
  ModelInfo info;
  LoadOptions options;
  std::unique_ptr<ops::ThreadPool> pool;
  std::unique_ptr<VisionTower> vision;
  std::unique_ptr<LanguageModel> language;
  std::unique_ptr<GpuModel> gpu;  // set when the GPU backend runs this model
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
  auto impl =
      std::make_unique<Impl>(Impl{runtime::ModelFolder::open(dir), {}, {}, {}, options, nullptr, nullptr, nullptr, nullptr});
  impl->config = parse_config(impl->folder.config(), impl->folder.config_path());
  const auto pre_path = dir / "preprocessor_config.json";
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(pre_path, ec))) {
    impl->preprocessor = read_preprocessor_config(impl->folder.file("preprocessor_config.json").string());
  }
  const Config& c = impl->config;
  if (impl->preprocessor.patch != c.vision.patch || impl->preprocessor.merge != c.vision.merge ||
      impl->preprocessor.temporal_patch != c.vision.temporal_patch) {
    throw Error(ErrorCode::ConfigInvalid, pre_path.string(), "patch_size",
                "patch, merge and temporal sizes must match config.json's vision_config");
  }

  impl->pool = std::make_unique<ops::ThreadPool>(options.threads);
  impl->vision = std::make_unique<VisionTower>(impl->config.vision, bind_vision(impl->folder, c.vision), impl->pool.get());
  impl->language = std::make_unique<LanguageModel>(impl->config.text, bind_text(impl->folder, c.text),
                                                   impl->pool.get(), options.token_chunk, options.ranks);

  ModelInfo& info = impl->info;
  info.family = "qwen2_5_vl";
  info.vision_layers = c.vision.depth;
  info.text_layers = c.text.layers;
  info.hidden = c.text.hidden;
  info.vocab = c.text.vocab;
  info.tensors = static_cast<std::int64_t>(impl->folder.tensor_count());
  info.weight_bytes = impl->folder.weight_bytes();
  for (auto d : impl->folder.dtypes()) info.dtypes.emplace_back(runtime::dtype_name(d));
  info.files = impl->folder.weight_files();
  std::string no_gpu;
  if (options.backend == Backend::Cuda && options.ranks != 1) {
    throw Error(ErrorCode::InvalidInput, "", "ranks", "the GPU backend runs on one GPU: ranks must be 1");
  }
  // Simulated ranks are the CPU backend's: Auto then stays on the CPU.
  const bool wants_gpu = options.backend == Backend::Cuda ||
                         (options.backend == Backend::Auto && options.ranks == 1 && gpu_backend_usable(&no_gpu));
  if (wants_gpu) {
    impl->gpu = load_gpu_model(impl->folder, impl->config, options);
    info.backend = "cuda: " + impl->gpu->description();
  } else {
    info.backend = "cpu (" + std::to_string(impl->pool->size()) + " threads" +
                   (options.ranks > 1 ? ", " + std::to_string(options.ranks) + " simulated ranks" : "") + ")" +
                   (options.backend == Backend::Auto && options.ranks == 1 ? "; no GPU: " + no_gpu : "");
  }
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const Config& Model::config() const { return impl_->config; }
const PreprocessorConfig& Model::preprocessor() const { return impl_->preprocessor; }
const ModelInfo& Model::info() const { return impl_->info; }

std::vector<float> Model::encode_video(const PixelValues& pixels, const RunControl& control, VisionTrace* trace) const {
  const VisionConfig& vc = impl_->config.vision;
  const GridTHW& g = pixels.grid;
  const std::int64_t row = vc.patch_dim();
  if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % vc.merge != 0 || g.w % vc.merge != 0 ||
      static_cast<std::int64_t>(pixels.data.size()) != g.patches() * row) {
    throw Error(ErrorCode::InvalidInput, "", "pixel_values", "size does not match the grid");
  }
  if (impl_->gpu) return impl_->gpu->encode_video(pixels, control, trace);
  const std::int64_t per_t = g.h * g.w;
  const std::int64_t cells_per_t = per_t / vc.merge_unit();
  std::vector<float> features(static_cast<std::size_t>(g.t * cells_per_t * vc.out_hidden));
  const std::int64_t step = std::max<std::int64_t>(1, impl_->options.vision_chunk_frames);
  for (std::int64_t t0 = 0; t0 < g.t; t0 += step) {
    check_cancel(control);
    const GridTHW chunk{std::min(step, g.t - t0), g.h, g.w};
    impl_->vision->encode(pixels.data.data() + t0 * per_t * row, chunk,
                          features.data() + t0 * cells_per_t * vc.out_hidden, trace);
    if (control.on_progress) control.on_progress(Stage::Vision, t0 + chunk.t, g.t);
  }
  return features;
}

VideoEncoder::VideoEncoder(const Model& model, std::int64_t height, std::int64_t width, const RunControl& control)
    : model_(model), height_(height), width_(width), control_(control) {
  const std::int64_t factor = model.config().vision.patch * model.config().vision.merge;
  if (height <= 0 || width <= 0 || height % factor != 0 || width % factor != 0) {
    throw Error(ErrorCode::InvalidInput, "", "frames",
                "sides must be multiples of " + std::to_string(factor) + ", got " + std::to_string(height) + " x " +
                    std::to_string(width));
  }
}

VideoEncoder::~VideoEncoder() = default;

void VideoEncoder::encode_pending(std::int64_t frames) {
  const std::int64_t frame_bytes = height_ * width_ * 3;
  const PixelValues px = patchify(pending_.data(), frames, height_, width_, model_.preprocessor());
  const std::vector<float> f = model_.encode_video(px, {{}, control_.cancel});
  features_.insert(features_.end(), f.begin(), f.end());
  encoded_t_ += px.grid.t;
  pending_.erase(pending_.begin(), pending_.begin() + frames * frame_bytes);
  if (control_.on_progress) control_.on_progress(Stage::Vision, encoded_t_, -1);
}

void VideoEncoder::push(const std::uint8_t* rgb, std::int64_t frames) {
  if (frames < 0) throw Error(ErrorCode::InvalidInput, "", "frames", "negative frame count");
  const std::int64_t frame_bytes = height_ * width_ * 3;
  const VisionConfig& vc = model_.config().vision;
  const std::int64_t chunk = std::max<std::int64_t>(1, model_.impl().options.vision_chunk_frames) * vc.temporal_patch;
  for (std::int64_t f = 0; f < frames; ++f) {
    pending_.insert(pending_.end(), rgb + f * frame_bytes, rgb + (f + 1) * frame_bytes);
    if (static_cast<std::int64_t>(pending_.size()) == chunk * frame_bytes) encode_pending(chunk);
  }
}

std::vector<float> VideoEncoder::finish(GridTHW* grid) {
  const std::int64_t frame_bytes = height_ * width_ * 3;
  const auto left = static_cast<std::int64_t>(pending_.size()) / frame_bytes;
  if (left > 0) encode_pending(left);
  if (encoded_t_ == 0) throw Error(ErrorCode::InvalidInput, "", "frames", "no frames were pushed");
  const VisionConfig& vc = model_.config().vision;
  if (grid) *grid = GridTHW{encoded_t_, height_ / vc.patch, width_ / vc.patch};
  encoded_t_ = 0;
  return std::exchange(features_, {});
}

struct Session::State {
  KvCache cache;                           // CPU backend
  std::unique_ptr<GpuSession> gpu;         // GPU backend
  std::vector<std::int64_t> max_position;  // running maximum of the positions of cached tokens
  std::vector<Segment> layout;
  std::vector<float> last_logits;
  RunStats stats;
};

Session::Session(const Model& model, std::int64_t kv_capacity)
    : model_(model),
      state_(std::make_unique<State>(State{model.impl().language->new_cache(model.impl().gpu ? 0 : kv_capacity),
                                           model.impl().gpu ? model.impl().gpu->session(kv_capacity) : nullptr,
                                           {}, {}, {}, {}})) {}

Session::~Session() = default;

std::int64_t Session::length() const { return state_->gpu ? state_->gpu->length() : state_->cache.length; }
std::int64_t Session::next_position() const {
  return state_->max_position.empty() ? 0 : state_->max_position.back() + 1;
}
const std::vector<Segment>& Session::layout() const { return state_->layout; }
const std::vector<float>& Session::last_logits() const { return state_->last_logits; }
const RunStats& Session::stats() const { return state_->stats; }

void Session::rewind(std::int64_t length) {
  if (length < 0 || length > this->length()) {
    throw Error(ErrorCode::InvalidInput, "", "length", "outside the cached sequence");
  }
  auto& layout = state_->layout;
  for (const auto& s : layout) {
    if (s.kind == Segment::Kind::Video && s.begin < length && length < s.begin + s.length) {
      throw Error(ErrorCode::InvalidInput, "", "length", "would cut a video in two");
    }
  }
  while (!layout.empty() && layout.back().begin >= length) layout.pop_back();
  if (!layout.empty()) layout.back().length = std::min(layout.back().length, length - layout.back().begin);
  if (state_->gpu) {
    state_->gpu->rewind(length);
  } else {
    state_->cache.length = length;
  }
  state_->max_position.resize(static_cast<std::size_t>(length));
  state_->last_logits.clear();
}

namespace {

void add_segment(std::vector<Segment>& layout, Segment s) {
  if (s.length == 0) return;
  if (s.kind == Segment::Kind::Text && !layout.empty() && layout.back().kind == Segment::Kind::Text &&
      layout.back().begin + layout.back().length == s.begin) {
    layout.back().length += s.length;
    return;
  }
  layout.push_back(s);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The CPU backend's reading of pixel sources: each video encoded a chunk of temporal patches at a time into one
// features array.
std::vector<float> encode_sources(const Model& model, std::span<const PixelSource> sources, const RunControl& control,
                                  RunStats& stats) {
  const VisionConfig& vc = model.config().vision;
  const std::int64_t step = std::max<std::int64_t>(1, model.impl().options.vision_chunk_frames);
  std::vector<float> features;
  for (const PixelSource& src : sources) {
    const std::int64_t per_t = src.grid.h * src.grid.w;
    for (std::int64_t t0 = 0; t0 < src.grid.t; t0 += step) {
      PixelValues chunk;
      chunk.grid = {std::min(step, src.grid.t - t0), src.grid.h, src.grid.w};
      chunk.data.resize(static_cast<std::size_t>(chunk.grid.t * per_t * vc.patch_dim()));
      auto t_fill = std::chrono::steady_clock::now();
      src.fill(t0, chunk.grid.t, chunk.data.data());
      stats.pixel_fill_ms += ms_since(t_fill);
      const auto f = model.encode_video(chunk, {{}, control.cancel});
      features.insert(features.end(), f.begin(), f.end());
      if (control.on_progress) control.on_progress(Stage::Vision, t0 + chunk.grid.t, src.grid.t);
    }
  }
  return features;
}

}  // namespace

std::vector<float> Session::prefill(const PrefillInput& input, const RunControl& control, ForwardTrace* trace) {
  const Config& c = model_.config();
  const auto n = static_cast<std::int64_t>(input.ids.size());
  if (n == 0) throw Error(ErrorCode::InvalidInput, "", "ids", "no tokens to pre-fill");
  std::int64_t video_tokens = 0;
  for (auto id : input.ids) {
    if (id < 0 || id >= c.text.vocab) throw Error(ErrorCode::InvalidInput, "", "ids", "token id outside the vocabulary");
    if (id == c.image_token_id) throw Error(ErrorCode::InvalidInput, "", "ids", "image inputs are not supported");
    if (id == c.video_token_id) ++video_tokens;
  }
  const std::int64_t hidden = c.text.hidden;
  const auto& impl = model_.impl();
  if (impl.gpu && input.attention != nullptr) {
    throw Error(ErrorCode::InvalidInput, "", "attention",
                "the GPU backend takes per-head patterns (PrefillInput::patterns), not a CPU attention hook");
  }
  if (!impl.gpu && input.patterns != nullptr) {
    throw Error(ErrorCode::InvalidInput, "", "patterns",
                "the CPU backend takes per-head patterns through a PrefillAttention hook (mmi::patterns)");
  }
  if (!impl.gpu && input.heatmaps != nullptr) {
    throw Error(ErrorCode::InvalidInput, "", "heatmaps",
                "the CPU backend captures heatmaps through a PrefillAttention hook (mmi::patterns)");
  }
  std::vector<GridTHW> grids = input.video_grids;
  if (!input.video_sources.empty()) {
    if (!input.video_features.empty() || !input.video_grids.empty()) {
      throw Error(ErrorCode::InvalidInput, "", "video_sources", "give video sources or features and grids, not both");
    }
    std::int64_t source_tokens = 0;
    for (const PixelSource& src : input.video_sources) {
      const GridTHW& g = src.grid;
      if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % c.vision.merge != 0 || g.w % c.vision.merge != 0 || !src.fill) {
        throw Error(ErrorCode::InvalidInput, "", "video_sources", "a source needs a fill function and a valid grid");
      }
      grids.push_back(g);
      source_tokens += g.patches() / c.vision.merge_unit();
    }
    if (source_tokens != video_tokens) {
      throw Error(ErrorCode::InvalidInput, "", "video_sources",
                  std::to_string(video_tokens) + " video tokens but the sources give " + std::to_string(source_tokens));
    }
  } else if (static_cast<std::int64_t>(input.video_features.size()) != video_tokens * hidden) {
    throw Error(ErrorCode::InvalidInput, "", "video_features",
                std::to_string(video_tokens) + " video tokens but " +
                    std::to_string(input.video_features.size() / static_cast<std::size_t>(hidden)) + " feature rows");
  }

  // Modality layout: runs of video tokens matched to the grids in order.
  std::vector<Segment> segments;
  const std::int64_t base = length();
  std::size_t grid_i = 0;
  for (std::int64_t i = 0; i < n;) {
    if (input.ids[static_cast<std::size_t>(i)] != c.video_token_id) {
      std::int64_t j = i;
      while (j < n && input.ids[static_cast<std::size_t>(j)] != c.video_token_id) ++j;
      segments.push_back({Segment::Kind::Text, base + i, j - i, 0, 0, 0});
      i = j;
      continue;
    }
    if (grid_i >= grids.size()) {
      throw Error(ErrorCode::InvalidInput, "", "video_grids", "more video token runs than grids");
    }
    const GridTHW& g = grids[grid_i++];
    const std::int64_t m = c.vision.merge;
    const std::int64_t count = g.t * (g.h / m) * (g.w / m);
    for (std::int64_t j = i; j < i + count; ++j) {
      if (j >= n || input.ids[static_cast<std::size_t>(j)] != c.video_token_id) {
        throw Error(ErrorCode::InvalidInput, "", "video_grids", "a video's token count does not match its grid");
      }
    }
    segments.push_back({Segment::Kind::Video, base + i, count, g.t, g.h / m, g.w / m});
    i += count;
  }
  if (grid_i != grids.size()) {
    throw Error(ErrorCode::InvalidInput, "", "video_grids", "more grids than video token runs");
  }

  // Positions: given (3 rows), or text continuing after the cache.
  std::vector<std::int64_t> positions;
  if (!input.positions.empty()) {
    if (static_cast<std::int64_t>(input.positions.size()) != 3 * n) {
      throw Error(ErrorCode::InvalidInput, "", "positions", "expected 3 rows of " + std::to_string(n));
    }
    positions.assign(input.positions.begin(), input.positions.end());
  } else {
    if (video_tokens > 0) throw Error(ErrorCode::InvalidInput, "", "positions", "video tokens need explicit positions");
    const std::int64_t p0 = next_position();
    positions.resize(static_cast<std::size_t>(3 * n));
    for (std::int64_t r = 0; r < 3; ++r)
      for (std::int64_t i = 0; i < n; ++i) positions[static_cast<std::size_t>(r * n + i)] = p0 + i;
  }

  std::vector<Segment> layout = state_->layout;
  for (const auto& s : segments) add_segment(layout, s);
  RunStats stats;
  if (impl.gpu) {
    state_->last_logits = state_->gpu->prefill(
        {input.ids, positions, input.video_features, input.video_sources, &layout, input.patterns, input.observer,
         input.heatmaps},
        control, trace,
        &stats);
  } else {
    std::vector<float> encoded;
    std::span<const float> video_features = input.video_features;
    if (!input.video_sources.empty()) {
      const auto t_vision = std::chrono::steady_clock::now();
      encoded = encode_sources(model_, input.video_sources, control, stats);
      stats.vision_ms = ms_since(t_vision);
      video_features = encoded;
    }
    // Embeddings with the video features scattered into the <|video_pad|> rows.
    const auto t_prefill = std::chrono::steady_clock::now();
    std::vector<float> x(static_cast<std::size_t>(n * hidden));
    impl.language->embed(input.ids, x.data());
    std::int64_t v = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      if (input.ids[static_cast<std::size_t>(i)] != c.video_token_id) continue;
      std::copy_n(video_features.data() + v * hidden, hidden, x.data() + i * hidden);
      ++v;
    }
    state_->last_logits = impl.language->forward(x, positions, state_->cache, input.attention, &layout, control,
                                                  Stage::Prefill, trace, input.observer);
    stats.prefill_ms = ms_since(t_prefill);
  }
  state_->stats = stats;
  state_->layout = std::move(layout);
  std::int64_t running = next_position() - 1;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t r = 0; r < 3; ++r) running = std::max(running, positions[static_cast<std::size_t>(r * n + i)]);
    state_->max_position.push_back(running);
  }
  return state_->last_logits;
}

DecodeResult Session::decode(const DecodeOptions& options, const std::function<bool(std::int32_t)>& on_token,
                             const RunControl& control) {
  if (state_->last_logits.empty()) throw Error(ErrorCode::InvalidInput, "", "decode", "pre-fill a prompt first");
  DecodeResult result;
  std::mt19937_64 rng(options.seed);
  const auto& impl = model_.impl();
  const std::int64_t hidden = model_.config().text.hidden;
  while (static_cast<std::int64_t>(result.tokens.size()) < options.max_tokens) {
    check_cancel(control);
    const std::int32_t token = state_->gpu && options.temperature <= 0.0f ? state_->gpu->greedy()
                                                                         : sample_token(state_->last_logits, options, rng);
    result.tokens.push_back(token);
    const bool stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end();
    const bool go_on = on_token ? on_token(token) : true;

    // Feed the token back so the cache holds the whole transcript.
    const std::int64_t p = next_position();
    std::vector<Segment> layout = state_->layout;
    add_segment(layout, {Segment::Kind::Text, length(), 1, 0, 0, 0});
    if (state_->gpu) {
      state_->last_logits = state_->gpu->step(token, p);
    } else {
      std::vector<float> x(static_cast<std::size_t>(hidden));
      const std::int32_t ids[1] = {token};
      impl.language->embed(ids, x.data());
      const std::int64_t pos[3] = {p, p, p};
      state_->last_logits = impl.language->forward(x, pos, state_->cache, nullptr, &layout, {}, Stage::Decode, nullptr);
    }
    state_->layout = std::move(layout);
    state_->max_position.push_back(p);
    if (control.on_progress) control.on_progress(Stage::Decode, static_cast<std::int64_t>(result.tokens.size()), options.max_tokens);
    if (stop) {
      result.stop = DecodeResult::Stop::StopToken;
      return result;
    }
    if (!go_on) {
      result.stop = DecodeResult::Stop::Caller;
      return result;
    }
  }
  result.stop = DecodeResult::Stop::MaxTokens;
  return result;
}

}  // namespace mmi::qwen2_5_vl
