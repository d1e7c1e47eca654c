// The search's results so far: per (prompt, layer) every head's candidate scores, mirrored in the checkpoint file
// (JSON lines: a header naming the search, then one record per finished (prompt, layer)), and the pattern file
// they make once every (prompt, layer) is in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "mmi/patterns/pattern_file.hpp"
#include "mmi/patterns/search.hpp"

namespace mmi::patterns::detail {

using LayerScores = std::vector<std::vector<CandidateScore>>;  // [head][candidate]

class SearchState {
 public:
  // Reads the checkpoint if there is one (refusing one of another search), else starts it.
  SearchState(PatternFile skeleton, std::filesystem::path checkpoint);

  std::int64_t prompts() const { return static_cast<std::int64_t>(skeleton_.inputs.size()); }
  std::int64_t layers() const { return skeleton_.model.layers; }
  const SearchSettings& settings() const { return *skeleton_.search; }  // candidates resolved
  bool done(std::int64_t prompt, std::int64_t layer) const;
  bool prompt_done(std::int64_t prompt) const;
  std::int64_t finished() const { return finished_; }

  // Keeps a finished (prompt, layer) and appends it to the checkpoint.
  void record(std::int64_t prompt, std::int64_t layer, LayerScores scores);
  // The pattern file: per head, the choice from the candidates' scores averaged over the prompts.
  PatternFile finish() const;

 private:
  void read_checkpoint(const std::string& key);
  void append(const std::string& line);

  PatternFile skeleton_;  // model, inputs, resolved settings; layers filled by finish()
  std::filesystem::path checkpoint_;
  std::vector<LayerScores> scores_;  // [prompt * layers + layer], empty until recorded
  std::int64_t finished_ = 0;
};

// A pattern file of `model`, `inputs` and `settings` (candidates resolved) with every head dense, validated like a
// file read from disk (Error(InvalidInput) naming the field): the search's starting point.
PatternFile search_skeleton(const ModelIdentity& model, std::vector<CalibrationInput> inputs, SearchSettings settings);

}  // namespace mmi::patterns::detail
