// The C API over the attention core (the model runtime's part is model.cpp). Each entry point checks its pointers
// and lengths, converts the C structs to the core's views and runs it inside `guarded` (guard.hpp).
#include "mmi.h"

#include "cancel.hpp"
#include "gpu_attention.hpp"
#include "guard.hpp"
#include "views.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <atomic>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "mmi/attention/dense.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/heatmap.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/attention/patterns.hpp"
#include "mmi/attention/sparse.hpp"
#include "mmi/attention/synthetic.hpp"

namespace at = mmi::attention;

struct mmi_index {
  int64_t tokens = 0;
  std::vector<at::HeadEstimate> heads;
};

namespace {

using mmi::capi::guarded;
using mmi::capi::kMaxHeads;
using mmi::capi::layout_of;
using mmi::capi::not_null;
using mmi::capi::view_of;

// The output must not share bytes with an input: the kernels read inputs while they write outputs.
at::OutputView output_of(float* out, int64_t length, const at::HeadsView& q,
                         std::initializer_list<const mmi_tensor*> inputs) {
  not_null(out, "out");
  at::require(length == q.heads * q.n * q.dim, "out holds " + std::to_string(length) + " floats, expected " +
                                                   std::to_string(q.heads * q.n * q.dim));
  const auto out_begin = reinterpret_cast<uintptr_t>(out);
  const auto out_end = out_begin + static_cast<uintptr_t>(length) * sizeof(float);
  for (const mmi_tensor* t : inputs) {
    const auto begin = reinterpret_cast<uintptr_t>(t->data);
    const auto end = begin + static_cast<uintptr_t>(t->length * at::dtype_size(static_cast<at::DType>(t->dtype)));
    at::require(end <= out_begin || begin >= out_end, "out overlaps an input tensor");
  }
  return at::OutputView{out, q.heads, q.n, q.dim, 0, 0};
}

at::RunControl control_of(const mmi_run_options* run) {
  at::RunControl c;
  if (run == nullptr) return c;
  at::require(run->threads >= 0 && run->threads <= 1024, "threads must be in [0, 1024], got " + std::to_string(run->threads));
  c.threads = run->threads;
  if (run->cancel != nullptr) c.cancel = &run->cancel->flag;
  if (run->progress != nullptr) {
    const mmi_progress_fn fn = run->progress;
    void* user = run->progress_user;
    c.progress = [fn, user](int64_t done, int64_t total) { fn(user, done, total); };
  }
  return c;
}

at::VerticalSlashBudget budget_of(const mmi_vs_budget& b) { return {b.vertical, b.slash}; }
mmi_vs_budget budget_to(const at::VerticalSlashBudget& b) { return {b.vertical, b.slash}; }

at::PatternConfig pattern_of(const mmi_pattern& p) {
  at::PatternConfig c;
  c.pattern = static_cast<at::Pattern>(p.kind);
  c.sink_tokens = p.sink_tokens;
  c.local_tokens = p.local_tokens;
  c.vertical_slash = budget_of(p.vertical_slash);
  c.top_k_blocks = p.top_k_blocks;
  c.grid_lines = p.grid_lines;
  c.text_rows = budget_of(p.text_rows);
  c.video_rows = budget_of(p.video_rows);
  c.text_to_text = budget_of(p.text_to_text);
  c.text_to_video = budget_of(p.text_to_video);
  c.video_to_text = budget_of(p.video_to_text);
  c.video_to_video = budget_of(p.video_to_video);
  at::validate_pattern(c);
  return c;
}

const at::HeadEstimate& head_of(const mmi_index* index, int64_t head) {
  not_null(index, "index");
  at::require(head >= 0 && head < static_cast<int64_t>(index->heads.size()),
              "head " + std::to_string(head) + " is out of range [0, " + std::to_string(index->heads.size()) + ")");
  return index->heads[static_cast<size_t>(head)];
}

std::vector<mmi::SparseIndex> indices_of(const mmi_index* index) {
  std::vector<mmi::SparseIndex> out;
  out.reserve(index->heads.size());
  for (const auto& h : index->heads) out.push_back(h.index);
  return out;
}

}  // namespace

extern "C" {

int32_t mmi_api_version(void) { return MMI_API_VERSION; }

const char* mmi_status_name(mmi_status status) {
  switch (status) {
    case MMI_OK: return "MMI_OK";
    case MMI_INVALID_ARGUMENT: return "MMI_INVALID_ARGUMENT";
    case MMI_NON_FINITE: return "MMI_NON_FINITE";
    case MMI_CANCELLED: return "MMI_CANCELLED";
    case MMI_OUT_OF_MEMORY: return "MMI_OUT_OF_MEMORY";
    case MMI_INTERNAL: return "MMI_INTERNAL";
    case MMI_NOT_FOUND: return "MMI_NOT_FOUND";
    case MMI_MODEL_INVALID: return "MMI_MODEL_INVALID";
    case MMI_UNSUPPORTED_MODEL: return "MMI_UNSUPPORTED_MODEL";
    case MMI_PATTERN_FILE_INVALID: return "MMI_PATTERN_FILE_INVALID";
    case MMI_DEVICE_UNAVAILABLE: return "MMI_DEVICE_UNAVAILABLE";
    case MMI_DEVICE_ERROR: return "MMI_DEVICE_ERROR";
  }
  return "MMI_UNKNOWN";
}

const char* mmi_last_error(void) { return mmi::capi::last_error().message.c_str(); }

void mmi_last_error_info(mmi_error_info* out) {
  if (out == nullptr) return;
  const mmi::capi::LastError& e = mmi::capi::last_error();
  *out = mmi_error_info{e.kind.c_str(), e.file.c_str(), e.subject.c_str()};
}

mmi_status mmi_cancel_create(mmi_cancel** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = new mmi_cancel();
  });
}

void mmi_cancel_request(mmi_cancel* cancel) {
  if (cancel != nullptr) cancel->flag.store(true);
}

int32_t mmi_cancel_requested(const mmi_cancel* cancel) { return cancel != nullptr && cancel->flag.load() ? 1 : 0; }

void mmi_cancel_destroy(mmi_cancel* cancel) { delete cancel; }

mmi_status mmi_layout_check(const mmi_segment* segments, int64_t count, int64_t tokens) {
  return guarded([&] {
    at::require(count != 0, "layout has no segments");
    not_null(segments, "segments");
    layout_of(segments, count, tokens);
  });
}

mmi_status mmi_attention_dense(const mmi_tensor* q, const mmi_tensor* k, const mmi_tensor* v,
                               const mmi_dense_options* options, float* out, int64_t out_length,
                               const mmi_run_options* run) {
  return guarded([&] {
    const at::HeadsView qv = view_of(q, "q"), kv = view_of(k, "k"), vv = view_of(v, "v");
    const at::OutputView o = output_of(out, out_length, qv, {q, k, v});
    at::DenseOptions opts;
    if (options != nullptr) {
      opts.causal = options->causal != 0;
      opts.scale = options->scale;
      opts.query_offset = options->query_offset;
      if (options->segments != nullptr || options->segment_count != 0) {
        not_null(options->segments, "segments");
        at::require(options->segment_count >= 2 && options->segment_count <= kv.n + 1,
                    "segment_count must be in [2, N + 1], got " + std::to_string(options->segment_count));
        opts.segments = std::span(options->segments, static_cast<size_t>(options->segment_count));
      }
    }
    const at::RunControl control = control_of(run);
    if (!mmi::capi::gpu_attention::dense(qv, kv, vv, o, opts, run)) at::dense_attention(qv, kv, vv, o, opts, control);
  });
}

mmi_status mmi_pattern_defaults(int32_t kind, mmi_pattern* pattern) {
  return guarded([&] {
    not_null(pattern, "pattern");
    at::PatternConfig c;
    c.pattern = static_cast<at::Pattern>(kind);
    at::validate_pattern(c);
    *pattern = mmi_pattern{kind,
                           c.sink_tokens,
                           c.local_tokens,
                           budget_to(c.vertical_slash),
                           c.top_k_blocks,
                           c.grid_lines,
                           budget_to(c.text_rows),
                           budget_to(c.video_rows),
                           budget_to(c.text_to_text),
                           budget_to(c.text_to_video),
                           budget_to(c.video_to_text),
                           budget_to(c.video_to_video)};
  });
}

mmi_status mmi_index_estimate(const mmi_tensor* q, const mmi_tensor* k, const mmi_segment* segments,
                              int64_t segment_count, const mmi_pattern* patterns, int64_t pattern_count, float scale,
                              const mmi_run_options* run, mmi_index** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    const at::HeadsView qv = view_of(q, "q"), kv = view_of(k, "k");
    not_null(patterns, "patterns");
    at::require(pattern_count == 1 || pattern_count == qv.heads,
                "pattern_count must be 1 or Hq (" + std::to_string(qv.heads) + "), got " + std::to_string(pattern_count));
    std::vector<at::PatternConfig> configs;
    for (int64_t i = 0; i < pattern_count; ++i) configs.push_back(pattern_of(patterns[i]));
    const at::ModalityLayout layout = layout_of(segments, segment_count, qv.n);
    auto index = std::make_unique<mmi_index>();
    index->tokens = qv.n;
    index->heads = at::estimate_heads(qv, kv, layout, configs, scale, control_of(run));
    *out = index.release();
  });
}

void mmi_index_destroy(mmi_index* index) { delete index; }

mmi_status mmi_index_shape(const mmi_index* index, int64_t* heads, int64_t* tokens) {
  return guarded([&] {
    not_null(index, "index");
    not_null(heads, "heads");
    not_null(tokens, "tokens");
    *heads = static_cast<int64_t>(index->heads.size());
    *tokens = index->tokens;
  });
}

mmi_status mmi_index_head(const mmi_index* index, int64_t head, mmi_index_head_view* out) {
  return guarded([&] {
    not_null(out, "out");
    const mmi::SparseIndex& s = head_of(index, head).index;
    *out = mmi_index_head_view{s.n,
                               mmi::num_blocks(s.n),
                               s.block_offsets.data(),
                               s.block_ids.data(),
                               s.column_offsets.data(),
                               s.column_ids.data(),
                               s.row_perm.empty() ? nullptr : s.row_perm.data(),
                               s.col_perm.empty() ? nullptr : s.col_perm.data()};
  });
}

mmi_status mmi_index_create(const mmi_index_head_view* heads, int64_t head_count, mmi_index** out) {
  return guarded([&] {
    not_null(out, "out");
    *out = nullptr;
    not_null(heads, "heads");
    at::require(head_count > 0 && head_count <= kMaxHeads, "head_count must be in [1, 65536], got " + std::to_string(head_count));
    auto index = std::make_unique<mmi_index>();
    index->tokens = heads[0].tokens;
    for (int64_t h = 0; h < head_count; ++h) {
      const mmi_index_head_view& v = heads[h];
      const std::string who = "head " + std::to_string(h);
      at::require(v.tokens == index->tokens, who + " is for " + std::to_string(v.tokens) + " tokens, head 0 for " +
                                                 std::to_string(index->tokens));
      at::require(v.tokens > 0 && v.tokens < (int64_t{1} << 31), who + ": tokens must be in [1, 2^31)");
      const int64_t nb = mmi::num_blocks(v.tokens);
      at::require(v.query_blocks == nb, who + ": query_blocks must be " + std::to_string(nb));
      not_null(v.block_offsets, (who + " block_offsets").c_str());
      not_null(v.column_offsets, (who + " column_offsets").c_str());
      const int64_t blocks = v.block_offsets[nb], columns = v.column_offsets[nb];
      at::require(blocks >= 0 && blocks <= nb * nb, who + ": block count out of range");
      at::require(columns >= 0 && columns <= nb * v.tokens, who + ": column count out of range");
      at::require(blocks == 0 || v.block_ids != nullptr, who + " block_ids is null");
      at::require(columns == 0 || v.column_ids != nullptr, who + " column_ids is null");
      at::HeadEstimate e;
      mmi::SparseIndex& s = e.index;
      s.n = v.tokens;
      s.block_offsets.assign(v.block_offsets, v.block_offsets + nb + 1);
      s.column_offsets.assign(v.column_offsets, v.column_offsets + nb + 1);
      if (blocks > 0) s.block_ids.assign(v.block_ids, v.block_ids + blocks);
      if (columns > 0) s.column_ids.assign(v.column_ids, v.column_ids + columns);
      if (v.row_perm != nullptr) s.row_perm.assign(v.row_perm, v.row_perm + v.tokens);
      if (v.col_perm != nullptr) s.col_perm.assign(v.col_perm, v.col_perm + v.tokens);
      at::validate_index(s, v.tokens, who);
      index->heads.push_back(std::move(e));
    }
    *out = index.release();
  });
}

mmi_status mmi_index_density(const mmi_index* index, int64_t head, mmi_density* out) {
  return guarded([&] {
    not_null(out, "out");
    const at::Density d = at::density(head_of(index, head).index, true);
    *out = mmi_density{d.computed, d.total, d.value()};
  });
}

mmi_status mmi_index_grid_count(const mmi_index* index, int64_t head, int64_t* count) {
  return guarded([&] {
    not_null(count, "count");
    *count = static_cast<int64_t>(head_of(index, head).grid.size());
  });
}

mmi_status mmi_index_grid(const mmi_index* index, int64_t head, int64_t which, mmi_grid_choice* out) {
  return guarded([&] {
    not_null(out, "out");
    const auto& grid = head_of(index, head).grid;
    at::require(which >= 0 && which < static_cast<int64_t>(grid.size()),
                "grid choice " + std::to_string(which) + " is out of range [0, " + std::to_string(grid.size()) + ")");
    const at::GridChoice& g = grid[static_cast<size_t>(which)];
    *out = mmi_grid_choice{g.run.start, g.run.length,    g.run.stride, g.prior, g.score, g.phases.data(),
                           static_cast<int64_t>(g.phases.size())};
  });
}

mmi_status mmi_attention_sparse(const mmi_tensor* q, const mmi_tensor* k, const mmi_tensor* v,
                                const mmi_index* index, int32_t causal, float scale, float* out, int64_t out_length,
                                const mmi_run_options* run) {
  return guarded([&] {
    const at::HeadsView qv = view_of(q, "q"), kv = view_of(k, "k"), vv = view_of(v, "v");
    const at::OutputView o = output_of(out, out_length, qv, {q, k, v});
    not_null(index, "index");
    at::SparseOptions opts;
    opts.causal = causal != 0;
    opts.scale = scale;
    const at::RunControl control = control_of(run);
    const std::vector<mmi::SparseIndex> indices = indices_of(index);
    if (!mmi::capi::gpu_attention::sparse(qv, kv, vv, indices, o, opts, run)) {
      at::sparse_attention(qv, kv, vv, indices, o, opts, control);
    }
  });
}

mmi_status mmi_heatmaps(const mmi_tensor* q, const mmi_tensor* k, const mmi_index* index, const int64_t* heads,
                        int64_t head_count, const mmi_heatmap_options* options, mmi_heatmap* out,
                        const mmi_run_options* run) {
  return guarded([&] {
    const at::HeadsView qv = view_of(q, "q"), kv = view_of(k, "k");
    not_null(index, "index");
    not_null(heads, "heads");
    not_null(options, "options");
    not_null(out, "out");
    at::require(head_count > 0 && head_count <= qv.heads, "head_count must be in [1, Hq], got " + std::to_string(head_count));
    for (int64_t i = 0; i < head_count; ++i) {
      const mmi_heatmap& o = out[i];
      for (const void* p : {static_cast<const void*>(o.mass), static_cast<const void*>(o.mass_permuted),
                            static_cast<const void*>(o.mask), static_cast<const void*>(o.mask_permuted),
                            static_cast<const void*>(o.row_samples), static_cast<const void*>(o.row_samples_permuted),
                            static_cast<const void*>(o.rows)}) {
        not_null(p, ("heatmap output " + std::to_string(i) + " array").c_str());
      }
    }
    at::HeatmapOptions opts;
    opts.samples = options->samples;
    opts.grid = options->grid;
    opts.causal = options->causal != 0;
    opts.scale = options->scale;
    const at::RunControl control = control_of(run);
    const std::vector<mmi::SparseIndex> indices = indices_of(index);
    const std::span<const int64_t> chosen(heads, static_cast<size_t>(head_count));
    std::optional<std::vector<at::Heatmap>> on_gpu =
        mmi::capi::gpu_attention::heatmaps(qv, kv, indices, chosen, opts, run);
    const auto maps = on_gpu ? std::move(*on_gpu) : at::heatmaps(qv, kv, indices, chosen, opts, control);
    for (size_t i = 0; i < maps.size(); ++i) {
      const at::Heatmap& m = maps[i];
      mmi_heatmap& o = out[i];
      std::copy(m.mass.begin(), m.mass.end(), o.mass);
      std::copy(m.mass_permuted.begin(), m.mass_permuted.end(), o.mass_permuted);
      std::copy(m.mask.begin(), m.mask.end(), o.mask);
      std::copy(m.mask_permuted.begin(), m.mask_permuted.end(), o.mask_permuted);
      std::copy(m.row_samples.begin(), m.row_samples.end(), o.row_samples);
      std::copy(m.row_samples_permuted.begin(), m.row_samples_permuted.end(), o.row_samples_permuted);
      std::copy(m.rows.begin(), m.rows.end(), o.rows);
      o.row_count = static_cast<int64_t>(m.rows.size());
      o.recall = m.recall;
      o.coverage = m.coverage;
    }
  });
}

mmi_status mmi_synthetic_qkv(const mmi_synthetic_spec* spec, float* q, int64_t q_length, float* k, int64_t k_length,
                             float* v, int64_t v_length, const mmi_run_options* run) {
  return guarded([&] {
    not_null(spec, "spec");
    at::require(spec->heads_q > 0 && spec->heads_q <= 4096 && spec->heads_kv > 0 && spec->heads_kv <= spec->heads_q,
                "synthetic: heads_q must be in [1, 4096] and heads_kv in [1, heads_q]");
    at::require(spec->dim >= 64 && spec->dim <= at::kMaxHeadDim, "synthetic: head dim must be in [64, 256]");
    const at::ModalityLayout layout = layout_of(spec->segments, spec->segment_count, -1);
    const int64_t n = layout.n();
    at::require(q_length == spec->heads_q * n * spec->dim, "q holds " + std::to_string(q_length) + " floats, expected " +
                                                               std::to_string(spec->heads_q * n * spec->dim));
    at::require(k_length == spec->heads_kv * n * spec->dim && v_length == k_length,
                "k and v must hold Hkv * N * D = " + std::to_string(spec->heads_kv * n * spec->dim) + " floats");
    at::SyntheticSpec s{layout, spec->heads_q, spec->heads_kv, spec->dim, spec->seed, spec->sink_tokens};
    at::synthetic_qkv_into(s, q, k, v, control_of(run));
  });
}

mmi_status mmi_synthetic_layout(int64_t tokens, int64_t h, int64_t w, mmi_segment* out, int64_t* count) {
  return guarded([&] {
    not_null(out, "out");
    not_null(count, "count");
    at::require(tokens >= 2 && tokens < (int64_t{1} << 31), "tokens must be in [2, 2^31)");
    at::require(h > 0 && w > 0 && h <= 4096 && w <= 4096, "h and w must be in [1, 4096]");
    const at::ModalityLayout layout = at::synthetic_video_layout(tokens, h, w);
    *count = static_cast<int64_t>(layout.segments().size());
    for (size_t i = 0; i < layout.segments().size(); ++i) {
      const at::Segment& s = layout.segments()[i];
      out[i] = mmi_segment{s.modality == at::Modality::text ? MMI_TEXT : MMI_VIDEO,
                           s.modality == at::Modality::text ? s.tokens : s.t * s.h * s.w, s.t, s.h, s.w};
    }
  });
}

}  // extern "C"
