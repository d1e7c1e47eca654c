// Budgets, head patterns and their conversion into the attention core's configuration for a prompt length.
#include <cmath>
#include <utility>

#include "mmi/patterns/pattern_file.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::patterns {

namespace att = mmi::attention;

std::int64_t Budget::resolve(std::int64_t n, std::int64_t total) const {
  switch (kind) {
    case Kind::fixed: return count;
    case Kind::scaled: {
      // count and n are below 2^31 (validated), so the product fits.
      return reference_tokens > 0 ? (count * n + reference_tokens - 1) / reference_tokens : count;
    }
    case Kind::fraction: return static_cast<std::int64_t>(std::ceil(fraction * static_cast<double>(total)));
  }
  return count;
}

HeadPattern HeadPattern::a_shape(Budget sink_tokens, Budget local_tokens) {
  HeadPattern p;
  p.pattern = att::Pattern::a_shape;
  p.sink_tokens = sink_tokens;
  p.local_tokens = local_tokens;
  return p;
}

HeadPattern HeadPattern::vertical_slash_of(VerticalSlashBudgets budgets) {
  HeadPattern p;
  p.pattern = att::Pattern::vertical_slash;
  p.vertical_slash = budgets;
  return p;
}

HeadPattern HeadPattern::block_sparse(Budget top_k_blocks) {
  HeadPattern p;
  p.pattern = att::Pattern::block_sparse;
  p.top_k_blocks = top_k_blocks;
  return p;
}

HeadPattern HeadPattern::grid(Budget sink_tokens, Budget local_tokens, std::int64_t lines) {
  HeadPattern p = a_shape(sink_tokens, local_tokens);  // the same sinks and band, in the permuted order
  p.pattern = att::Pattern::grid;
  p.grid_lines = Budget::fixed_count(lines);
  return p;
}

HeadPattern HeadPattern::q_boundary(VerticalSlashBudgets text_rows, VerticalSlashBudgets video_rows) {
  HeadPattern p;
  p.pattern = att::Pattern::q_boundary;
  p.text_rows = text_rows;
  p.video_rows = video_rows;
  return p;
}

HeadPattern HeadPattern::two_d_boundary(VerticalSlashBudgets text_to_text, VerticalSlashBudgets text_to_video,
                                        VerticalSlashBudgets video_to_text, VerticalSlashBudgets video_to_video) {
  HeadPattern p;
  p.pattern = att::Pattern::two_d_boundary;
  p.text_to_text = text_to_text;
  p.text_to_video = text_to_video;
  p.video_to_text = video_to_text;
  p.video_to_video = video_to_video;
  return p;
}

att::PatternConfig to_config(const HeadPattern& p, std::int64_t n) {
  auto tokens = [n](const Budget& b) { return b.resolve(n, n); };
  auto vs = [&](const VerticalSlashBudgets& b) { return att::VerticalSlashBudget{tokens(b.vertical), tokens(b.slash)}; };
  att::PatternConfig c;
  c.pattern = p.pattern;
  switch (p.pattern) {
    case att::Pattern::dense: break;
    case att::Pattern::a_shape:
      c.sink_tokens = tokens(p.sink_tokens);
      c.local_tokens = tokens(p.local_tokens);
      break;
    case att::Pattern::vertical_slash: c.vertical_slash = vs(p.vertical_slash); break;
    case att::Pattern::block_sparse: c.top_k_blocks = p.top_k_blocks.resolve(n, num_blocks(n)); break;
    case att::Pattern::grid:
      c.sink_tokens = tokens(p.sink_tokens);
      c.local_tokens = tokens(p.local_tokens);
      c.grid_lines = p.grid_lines.count;
      break;
    case att::Pattern::q_boundary:
      c.text_rows = vs(p.text_rows);
      c.video_rows = vs(p.video_rows);
      break;
    case att::Pattern::two_d_boundary:
      c.text_to_text = vs(p.text_to_text);
      c.text_to_video = vs(p.text_to_video);
      c.video_to_text = vs(p.video_to_text);
      c.video_to_video = vs(p.video_to_video);
      break;
  }
  return c;
}

std::vector<att::PatternConfig> to_configs(const PatternFile& file, std::int64_t n) {
  std::vector<att::PatternConfig> out;
  for (const auto& layer : file.layers) {
    for (const HeadEntry& head : layer) out.push_back(to_config(head.pattern, n));
  }
  return out;
}

std::optional<att::Pattern> pattern_from_name(std::string_view name) {
  for (const att::Pattern p : {att::Pattern::dense, att::Pattern::a_shape, att::Pattern::vertical_slash,
                               att::Pattern::block_sparse, att::Pattern::grid, att::Pattern::q_boundary,
                               att::Pattern::two_d_boundary}) {
    if (name == att::pattern_name(p)) return p;
  }
  return std::nullopt;
}

}  // namespace mmi::patterns
