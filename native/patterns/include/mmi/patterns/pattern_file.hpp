// Pattern files (native/patterns/README.md, pattern-file.schema.json): which sparse pattern each (layer, head) of a
// model uses in pre-fill, with budgets that scale with the prompt length, the model the file was made for and, when
// the offline search made it, the calibration inputs, the search settings and what each head kept in calibration.
//
//   PatternFile file = load_pattern_file("patterns.json", &identity);   // strict; Error names file and field
//   attention::PatternConfig config = to_config(file.at(layer, head).pattern, n);
//   save_pattern_file(file, "copy.json");                                // byte-identical for equal files
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mmi/attention/patterns.hpp"

namespace mmi::runtime {
class VideoModel;
}

namespace mmi::patterns {

inline constexpr std::string_view kFormat = "mmi-pattern-file";
inline constexpr std::int64_t kSchemaVersion = 1;
inline constexpr std::int64_t kMaxBudgetCount = (std::int64_t{1} << 31) - 1;  // the index stores int32 positions
inline constexpr double kMaxCost = 8.0;  // HeadStats::cost is at most about 4 (every tile plus every column)

// One budget that scales with the prompt length N (docs/algorithm.md §10). Its unit depends on the field: tokens
// (sink_tokens, local_tokens), key columns (vertical), diagonals (slash), key blocks of 64 (top_k_blocks), phases
// (grid_lines, which is always a fixed count).
struct Budget {
  enum class Kind : std::uint8_t {
    fixed,     // `count` whatever N
    scaled,    // `count` at `reference_tokens`, in proportion to N elsewhere: ceil(count · N / reference_tokens)
    fraction,  // ceil(fraction · total), total = N (or num_blocks(N) for top_k_blocks)
  };
  Kind kind = Kind::fixed;
  std::int64_t count = 0;
  std::int64_t reference_tokens = 0;
  double fraction = 0.0;

  static Budget fixed_count(std::int64_t count) { return {Kind::fixed, count, 0, 0.0}; }
  static Budget scaled_count(std::int64_t count, std::int64_t reference) { return {Kind::scaled, count, reference, 0.0}; }
  static Budget of(double fraction) { return {Kind::fraction, 0, 0, fraction}; }

  // The count for a prompt of n tokens; `total` is what a fraction is a fraction of.
  std::int64_t resolve(std::int64_t n, std::int64_t total) const;
  bool operator==(const Budget&) const = default;
};

struct VerticalSlashBudgets {
  Budget vertical;
  Budget slash;
  bool operator==(const VerticalSlashBudgets&) const = default;
};

// A pattern and its budgets. Only the fields of `pattern` are meaningful (the others stay default, so equality
// compares what matters): a_shape {sink_tokens, local_tokens}; vertical_slash {vertical_slash}; block_sparse
// {top_k_blocks}; grid {sink_tokens, local_tokens, grid_lines}; q_boundary {text_rows, video_rows}; two_d_boundary
// {text_to_text, text_to_video, video_to_text, video_to_video}; dense: none.
struct HeadPattern {
  attention::Pattern pattern = attention::Pattern::dense;
  Budget sink_tokens, local_tokens, top_k_blocks, grid_lines;
  VerticalSlashBudgets vertical_slash;
  VerticalSlashBudgets text_rows, video_rows;
  VerticalSlashBudgets text_to_text, text_to_video, video_to_text, video_to_video;
  bool operator==(const HeadPattern&) const = default;

  static HeadPattern dense() { return {}; }
  static HeadPattern a_shape(Budget sink_tokens, Budget local_tokens);
  static HeadPattern vertical_slash_of(VerticalSlashBudgets budgets);
  static HeadPattern block_sparse(Budget top_k_blocks);
  static HeadPattern grid(Budget sink_tokens, Budget local_tokens, std::int64_t lines);
  static HeadPattern q_boundary(VerticalSlashBudgets text_rows, VerticalSlashBudgets video_rows);
  static HeadPattern two_d_boundary(VerticalSlashBudgets text_to_text, VerticalSlashBudgets text_to_video,
                                    VerticalSlashBudgets video_to_text, VerticalSlashBudgets video_to_video);
};

// The attention core's configuration of a pattern for a prompt of n tokens (budgets resolved).
attention::PatternConfig to_config(const HeadPattern& pattern, std::int64_t n);
// "a_shape", ...; the inverse returns nullopt for an unknown name.
std::optional<attention::Pattern> pattern_from_name(std::string_view name);

// What the search measured for a head on the calibration inputs (means over the inputs, on sampled rows).
struct HeadStats {
  double recall = 1.0;   // dense attention mass inside the mask
  double density = 1.0;  // kept (row, key) pairs / causal pairs
  // Tiles the kernel computes (64×64 key blocks, columns 64 at a time) / dense causal tiles. Above 1 is possible: in
  // a permuted order more blocks hold some causal pair than on the diagonal of the original order.
  double cost = 1.0;
  bool operator==(const HeadStats&) const = default;
};

struct HeadEntry {
  HeadPattern pattern;
  std::optional<HeadStats> calibration;  // absent in hand-written files
  bool operator==(const HeadEntry&) const = default;
};

// What a file must match to be used with a model.
struct ModelIdentity {
  std::string family;         // "qwen2_5_vl"
  std::int64_t layers = 0;    // language-model decoder layers
  std::int64_t heads = 0;     // query heads
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  std::string config_sha256;  // SHA-256 of config.json's bytes, lowercase hex
  bool operator==(const ModelIdentity&) const = default;
};

// The identity of a loaded model; reads `model_dir`/config.json for its hash.
ModelIdentity model_identity(const runtime::VideoModel& model, const std::filesystem::path& model_dir);
// The model's family and sizes with the given config hash.
ModelIdentity model_sizes(const runtime::VideoModel& model, std::string config_sha256);

struct CalibrationInput {
  std::string name;               // the caller's label (e.g. the video's file name)
  std::int64_t tokens = 0;
  std::int64_t video_tokens = 0;
  std::string sha256;             // of the prompt as the search saw it (see README)
  bool operator==(const CalibrationInput&) const = default;
};

// How the offline search chose (docs/algorithm.md §9, README "The search").
struct SearchSettings {
  double cost_target = 0.1;          // kernel tiles / dense tiles a head may cost
  std::int64_t recall_samples = 64;  // query rows (evenly spread, first and last included) recall is measured on
  double tie_tolerance = 0.005;      // recalls this close count as equal: the cheaper estimation wins
  double dense_below_recall = 0.6;   // a head whose best recall is lower stays dense
  std::vector<HeadPattern> candidates;  // empty: default_candidates()
  bool operator==(const SearchSettings&) const = default;
};

// Parses a JSON array of candidates ({pattern, budgets} each, as the file's search.candidates), checked as strictly
// as a file's; `name` names them in errors (InvalidJson, InvalidField, UnknownPattern, NegativeBudget).
std::vector<HeadPattern> parse_candidates(std::string_view json, const std::string& name = "candidates");

struct PatternFile {
  ModelIdentity model;
  std::vector<CalibrationInput> inputs;  // empty for hand-written files
  std::optional<SearchSettings> search;  // absent for hand-written files
  std::vector<std::vector<HeadEntry>> layers;  // [layer][head]

  const HeadEntry& at(std::int64_t layer, std::int64_t head) const;
  bool operator==(const PatternFile&) const = default;
};

// Parses and validates a pattern file's text; `file` names it in errors. Every field is checked (types, ranges,
// no unknown keys, one entry per head of every layer, each head's fields exactly those of its pattern).
PatternFile parse_pattern_file(std::string_view text, const std::string& file = "pattern file");

struct LoadOptions {
  // Refuse a file whose config.json hash differs (sizes must always match). Off: a file searched on one checkpoint
  // may be tried on a fine-tune of the same architecture.
  bool require_same_config = true;
};

// Reads, parses and validates a file (at most 64 MiB); with `expect`, also checks it belongs to that model.
PatternFile load_pattern_file(const std::filesystem::path& path, const ModelIdentity* expect = nullptr,
                              const LoadOptions& options = {});

// Throws Error(WrongModel) naming the first field that differs; Error(WrongShape) if the file's layer/head counts
// are not the identity's.
void check_model(const PatternFile& file, const ModelIdentity& model, const LoadOptions& options = {},
                 const std::string& file_name = "pattern file");

// Deterministic text (fixed key order, two-space indent, shortest round-trip numbers, trailing newline).
std::string serialize_pattern_file(const PatternFile& file);
// Writes atomically (a temporary file beside it, then rename). Throws Error(FileUnwritable).
void save_pattern_file(const PatternFile& file, const std::filesystem::path& path);

// A file that keeps every head dense: the default when a model has no pattern file.
PatternFile dense_pattern_file(const ModelIdentity& model);

// Every head's configuration for a prompt of n tokens, [layer · heads + head] (what the GPU backend takes).
std::vector<attention::PatternConfig> to_configs(const PatternFile& file, std::int64_t n);

}  // namespace mmi::patterns
