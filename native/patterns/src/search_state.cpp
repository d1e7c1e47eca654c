#include "search_state.hpp"

#include <cmath>
#include <string>
#include <system_error>

#include "json_writer.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/runtime/json.hpp"
#include "pattern_json.hpp"
#include "sha256.hpp"

namespace mmi::patterns::detail {

using runtime::Json;

namespace {

constexpr std::string_view kCheckpointFormat = "mmi-pattern-search-checkpoint";
constexpr std::int64_t kCheckpointVersion = 1;

// Names the search: the model, the inputs' hashes and the resolved settings.
std::string search_key(const PatternFile& s) {
  JsonWriter w(true);
  w.begin_object();
  w.key("model");
  write_model(w, s.model);
  w.key("inputs");
  write_inputs(w, s.inputs);
  w.key("search");
  write_search(w, *s.search);
  w.end_object();
  return sha256_hex(w.finish());
}

[[noreturn]] void invalid(const std::string& file, std::int64_t line, const std::string& detail) {
  throw Error(ErrorCode::CheckpointInvalid, file, "line " + std::to_string(line), detail);
}

}  // namespace

PatternFile search_skeleton(const ModelIdentity& model, std::vector<CalibrationInput> inputs, SearchSettings settings) {
  if (settings.candidates.empty()) settings.candidates = default_candidates();
  PatternFile f = dense_pattern_file(model);
  f.inputs = std::move(inputs);
  f.search = std::move(settings);
  if (f.inputs.empty()) throw Error(ErrorCode::InvalidInput, "", "prompts", "the search needs at least one calibration prompt");
  // The file reader's checks are the checks of the search's inputs: write the skeleton and read it back.
  try {
    return parse_pattern_file(serialize_pattern_file(f), "search settings");
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidInput, "", e.where(), e.detail());
  }
}

SearchState::SearchState(PatternFile skeleton, std::filesystem::path checkpoint)
    : skeleton_(std::move(skeleton)), checkpoint_(std::move(checkpoint)) {
  scores_.resize(static_cast<std::size_t>(prompts() * layers()));
  if (checkpoint_.empty()) return;
  const std::string key = search_key(skeleton_);
  std::error_code ec;
  if (std::filesystem::exists(checkpoint_, ec)) {
    read_checkpoint(key);
    return;
  }
  JsonWriter w(true);
  w.begin_object();
  w.key("format").value(kCheckpointFormat);
  w.key("version").value(kCheckpointVersion);
  w.key("key").value(key);
  w.key("prompts").value(prompts());
  w.key("layers").value(layers());
  w.key("heads").value(skeleton_.model.heads);
  w.key("candidates").value(static_cast<std::int64_t>(skeleton_.search->candidates.size()));
  w.end_object();
  append(w.finish());
}

void SearchState::read_checkpoint(const std::string& key) {
  const std::string name = checkpoint_.string();
  std::string text;
  {
    std::ifstream in(checkpoint_, std::ios::binary);
    if (!in) throw Error(ErrorCode::FileUnreadable, name, "", "cannot open the checkpoint");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error(ErrorCode::FileUnreadable, name, "", "cannot read the checkpoint");
  }
  // A line without its newline was being written when the search stopped: drop it.
  const std::size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (complete < text.size()) {
    text.resize(complete);
    std::error_code ec;
    std::filesystem::resize_file(checkpoint_, complete, ec);
    if (ec) throw Error(ErrorCode::FileUnwritable, name, "", "cannot drop the unfinished last record: " + ec.message());
  }
  const auto heads = static_cast<std::size_t>(skeleton_.model.heads);
  const std::size_t candidates = skeleton_.search->candidates.size();
  std::size_t at = 0;
  std::int64_t line = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string_view row(text.data() + at, end - at);
    at = end + 1;
    ++line;
    Json j;
    try {
      j = Json::parse(row);
    } catch (const runtime::JsonError& e) {
      invalid(name, line, std::string("damaged: ") + e.what());
    }
    if (line == 1) {
      const Json* format = j.find("format");
      const Json* version = j.find("version");
      const Json* k = j.find("key");
      if (format == nullptr || format->as_string() == nullptr || *format->as_string() != kCheckpointFormat ||
          version == nullptr || version->as_int() != kCheckpointVersion || k == nullptr || k->as_string() == nullptr) {
        invalid(name, line, "not a pattern search checkpoint");
      }
      if (*k->as_string() != key) invalid(name, line, "a checkpoint of another search (other model, inputs or settings)");
      continue;
    }
    const Json* p = j.find("prompt");
    const Json* l = j.find("layer");
    const Json* s = j.find("scores");
    const std::int64_t prompt = p ? p->as_int().value_or(-1) : -1;
    const std::int64_t layer = l ? l->as_int().value_or(-1) : -1;
    if (prompt < 0 || prompt >= prompts() || layer < 0 || layer >= layers() || s == nullptr ||
        s->as_array() == nullptr || s->as_array()->size() != heads) {
      invalid(name, line, "damaged record");
    }
    LayerScores scores(heads);
    for (std::size_t h = 0; h < heads; ++h) {
      const Json::Array* values = (*s->as_array())[h].as_array();
      if (values == nullptr || values->size() != 3 * candidates) invalid(name, line, "damaged record");
      for (std::size_t c = 0; c < candidates; ++c) {
        double v[3];
        for (std::size_t i = 0; i < 3; ++i) {
          const Json::Number* num = (*values)[3 * c + i].as_number();
          // recall and density are shares; a permuted index may cost more tiles than dense, never infinitely many.
          const double max = i < 2 ? 1.0 : kMaxCost;
          if (num == nullptr || !(num->value >= 0.0 && num->value <= max)) invalid(name, line, "damaged record");
          v[i] = num->value;
        }
        scores[h].push_back({v[0], v[1], v[2]});
      }
    }
    auto& slot = scores_[static_cast<std::size_t>(prompt * layers() + layer)];
    if (!slot.empty()) invalid(name, line, "a (prompt, layer) recorded twice");
    slot = std::move(scores);
    ++finished_;
  }
  if (line == 0) throw Error(ErrorCode::CheckpointInvalid, name, "", "empty checkpoint");
}

void SearchState::append(const std::string& line) {
  std::ofstream out(checkpoint_, std::ios::binary | std::ios::app);
  out << line << '\n';
  out.flush();
  if (!out) throw Error(ErrorCode::FileUnwritable, checkpoint_.string(), "", "could not append to the checkpoint");
}

bool SearchState::done(std::int64_t prompt, std::int64_t layer) const {
  return !scores_[static_cast<std::size_t>(prompt * layers() + layer)].empty();
}

bool SearchState::prompt_done(std::int64_t prompt) const {
  for (std::int64_t l = 0; l < layers(); ++l) {
    if (!done(prompt, l)) return false;
  }
  return true;
}

void SearchState::record(std::int64_t prompt, std::int64_t layer, LayerScores scores) {
  if (!checkpoint_.empty()) {
    JsonWriter w(true);
    w.begin_object();
    w.key("prompt").value(prompt);
    w.key("layer").value(layer);
    w.key("scores").begin_array();
    for (const auto& head : scores) {
      w.begin_array();
      for (const CandidateScore& s : head) w.value(s.recall).value(s.density).value(s.cost);
      w.end_array();
    }
    w.end_array();
    w.end_object();
    append(w.finish());
  }
  scores_[static_cast<std::size_t>(prompt * layers() + layer)] = std::move(scores);
  ++finished_;
}

PatternFile SearchState::finish() const {
  PatternFile out = skeleton_;
  const std::vector<HeadPattern>& candidates = out.search->candidates;
  const auto P = static_cast<std::size_t>(prompts());
  for (std::int64_t l = 0; l < layers(); ++l) {
    for (std::size_t h = 0; h < static_cast<std::size_t>(out.model.heads); ++h) {
      std::vector<CandidateScore> mean(candidates.size());
      for (std::size_t p = 0; p < P; ++p) {
        const LayerScores& s = scores_[p * static_cast<std::size_t>(layers()) + static_cast<std::size_t>(l)];
        for (std::size_t c = 0; c < candidates.size(); ++c) {
          mean[c].recall += s[h][c].recall / static_cast<double>(P);
          mean[c].density += s[h][c].density / static_cast<double>(P);
          mean[c].cost += s[h][c].cost / static_cast<double>(P);
        }
      }
      out.layers[static_cast<std::size_t>(l)][h] = choose_pattern(candidates, mean, *out.search);
    }
  }
  return out;
}

}  // namespace mmi::patterns::detail
