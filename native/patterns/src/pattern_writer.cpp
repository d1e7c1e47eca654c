// Writing pattern files: one deterministic text per file, so equal searches give byte-identical files.
#include <cstdio>
#include <fstream>
#include <system_error>

#include "json_writer.hpp"
#include "mmi/patterns/error.hpp"
#include "mmi/patterns/pattern_file.hpp"
#include "pattern_json.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;
using detail::JsonWriter;

namespace detail {

void write_budget(JsonWriter& w, const Budget& b) {
  w.begin_object(true);
  switch (b.kind) {
    case Budget::Kind::fixed: w.key("count").value(b.count); break;
    case Budget::Kind::scaled: w.key("count").value(b.count).key("reference_tokens").value(b.reference_tokens); break;
    case Budget::Kind::fraction: w.key("fraction").value(b.fraction); break;
  }
  w.end_object();
}

namespace {

void write_vs(JsonWriter& w, const char* name, const VerticalSlashBudgets& b) {
  w.key(name).begin_object(true);
  w.key("vertical");
  write_budget(w, b.vertical);
  w.key("slash");
  write_budget(w, b.slash);
  w.end_object();
}

void write_one(JsonWriter& w, const char* name, const Budget& b) {
  w.key(name);
  write_budget(w, b);
}

}  // namespace

void write_head_pattern(JsonWriter& w, const HeadPattern& p) {
  w.key("pattern").value(att::pattern_name(p.pattern));
  w.key("budgets").begin_object(true);
  switch (p.pattern) {
    case att::Pattern::dense: break;
    case att::Pattern::a_shape:
      write_one(w, "sink_tokens", p.sink_tokens);
      write_one(w, "local_tokens", p.local_tokens);
      break;
    case att::Pattern::vertical_slash:
      write_one(w, "vertical", p.vertical_slash.vertical);
      write_one(w, "slash", p.vertical_slash.slash);
      break;
    case att::Pattern::block_sparse: write_one(w, "top_k_blocks", p.top_k_blocks); break;
    case att::Pattern::grid:
      write_one(w, "sink_tokens", p.sink_tokens);
      write_one(w, "local_tokens", p.local_tokens);
      write_one(w, "grid_lines", p.grid_lines);
      break;
    case att::Pattern::q_boundary:
      write_vs(w, "text_rows", p.text_rows);
      write_vs(w, "video_rows", p.video_rows);
      break;
    case att::Pattern::two_d_boundary:
      write_vs(w, "text_to_text", p.text_to_text);
      write_vs(w, "text_to_video", p.text_to_video);
      write_vs(w, "video_to_text", p.video_to_text);
      write_vs(w, "video_to_video", p.video_to_video);
      break;
  }
  w.end_object();
}

void write_model(JsonWriter& w, const ModelIdentity& m) {
  w.begin_object(true);
  w.key("family").value(m.family);
  w.key("layers").value(m.layers);
  w.key("heads").value(m.heads);
  w.key("kv_heads").value(m.kv_heads);
  w.key("head_dim").value(m.head_dim);
  w.key("config_sha256").value(m.config_sha256);
  w.end_object();
}

void write_inputs(JsonWriter& w, const std::vector<CalibrationInput>& inputs) {
  w.begin_array();
  for (const CalibrationInput& in : inputs) {
    w.begin_object(true);
    w.key("name").value(in.name);
    w.key("tokens").value(in.tokens);
    w.key("video_tokens").value(in.video_tokens);
    w.key("sha256").value(in.sha256);
    w.end_object();
  }
  w.end_array();
}

void write_search(JsonWriter& w, const SearchSettings& s) {
  w.begin_object();
  w.key("cost_target").value(s.cost_target);
  w.key("recall_samples").value(s.recall_samples);
  w.key("tie_tolerance").value(s.tie_tolerance);
  w.key("dense_below_recall").value(s.dense_below_recall);
  w.key("candidates").begin_array();
  for (const HeadPattern& c : s.candidates) {
    w.begin_object(true);
    write_head_pattern(w, c);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace detail

std::string serialize_pattern_file(const PatternFile& f) {
  JsonWriter w;
  w.begin_object();
  w.key("format").value(kFormat);
  w.key("schema_version").value(kSchemaVersion);
  w.key("model");
  detail::write_model(w, f.model);
  if (!f.inputs.empty()) {
    w.key("calibration").begin_object();
    w.key("inputs");
    detail::write_inputs(w, f.inputs);
    w.end_object();
  }
  if (f.search) {
    w.key("search");
    detail::write_search(w, *f.search);
  }
  w.key("layers").begin_array();
  for (std::size_t l = 0; l < f.layers.size(); ++l) {
    w.begin_object();
    w.key("layer").value(static_cast<std::int64_t>(l));
    w.key("heads").begin_array();
    for (std::size_t h = 0; h < f.layers[l].size(); ++h) {
      const HeadEntry& e = f.layers[l][h];
      w.begin_object(true);
      w.key("head").value(static_cast<std::int64_t>(h));
      detail::write_head_pattern(w, e.pattern);
      if (e.calibration) {
        w.key("calibration").begin_object(true);
        w.key("recall").value(e.calibration->recall);
        w.key("density").value(e.calibration->density);
        w.key("cost").value(e.calibration->cost);
        w.end_object();
      }
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.finish();
}

void detail::write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) throw Error(ErrorCode::FileUnwritable, tmp.string(), "", "could not write the file");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorCode::FileUnwritable, path.string(), "", "could not replace the file: " + why);
  }
}

void save_pattern_file(const PatternFile& file, const std::filesystem::path& path) {
  detail::write_file_atomically(path, serialize_pattern_file(file));
}

}  // namespace mmi::patterns
