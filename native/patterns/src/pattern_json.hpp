// Pieces of the pattern file's JSON shared by the file writer and the search checkpoint (whose header must name the
// same model, inputs and settings).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "json_writer.hpp"
#include "mmi/patterns/pattern_file.hpp"

namespace mmi::patterns::detail {

void write_budget(JsonWriter& w, const Budget& b);
// The "pattern" and "budgets" keys of an entry (inside an object the caller opened).
void write_head_pattern(JsonWriter& w, const HeadPattern& p);
void write_model(JsonWriter& w, const ModelIdentity& m);
void write_inputs(JsonWriter& w, const std::vector<CalibrationInput>& inputs);
void write_search(JsonWriter& w, const SearchSettings& s);

// Writes `text` to a temporary file beside `path`, then renames it over `path`. Throws Error(FileUnwritable).
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace mmi::patterns::detail
