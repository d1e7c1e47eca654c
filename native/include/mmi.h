/* The engine's C API: the attention core (dense and sparse attention, pattern estimation, heatmaps, synthetic
 * inputs) behind plain C types. Every function returns an mmi_status; on failure mmi_last_error() gives a message
 * naming the argument and the problem. No C++ exception crosses this boundary. Long calls take mmi_run_options:
 * a thread count, a cancel token checked between work units (a head's query block, a head) and a progress
 * callback, called on the calling thread.
 *
 * Operands are contiguous: q [Hq, N, D], k/v [Hkv, N, D] (GQA: query head h reads kv head h / (Hq/Hkv)), in fp32,
 * fp16 or bf16 (16-bit values passed as their raw bits); outputs are fp32 [Hq, N, D]. Every buffer comes with
 * its length in elements, checked against the shape. Nothing here needs a GPU. */
#ifndef MMI_H
#define MMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMI_API_VERSION 1

typedef enum mmi_status {
  MMI_OK = 0,
  MMI_INVALID_ARGUMENT = 1, /* shapes, lengths, layouts, indices, budgets, null pointers */
  MMI_NON_FINITE = 2,       /* NaN or Inf in an input tensor */
  MMI_CANCELLED = 3,        /* the cancel token was raised */
  MMI_OUT_OF_MEMORY = 4,
  MMI_INTERNAL = 5 /* a bug in the engine */
} mmi_status;

int32_t mmi_api_version(void);
/* "MMI_OK", "MMI_INVALID_ARGUMENT", ...; "MMI_UNKNOWN" for other values. */
const char* mmi_status_name(mmi_status status);
/* The message of the last failed call on this thread; "" after a success. Valid until the next call on it. */
const char* mmi_last_error(void);

/* ---- operands ---------------------------------------------------------------------------------------------- */

typedef enum mmi_dtype { MMI_F32 = 0, MMI_F16 = 1, MMI_BF16 = 2 } mmi_dtype;

typedef struct mmi_tensor {
  const void* data;
  int32_t dtype; /* mmi_dtype */
  int64_t heads;
  int64_t tokens;
  int64_t dim;    /* head dim, 1..256 */
  int64_t length; /* elements in data: must equal heads * tokens * dim */
} mmi_tensor;

/* ---- running: cancellation and progress ---------------------------------------------------------------------- */

typedef struct mmi_cancel mmi_cancel;
mmi_status mmi_cancel_create(mmi_cancel** out);
void mmi_cancel_request(mmi_cancel* cancel); /* from any thread; NULL is ignored */
int32_t mmi_cancel_requested(const mmi_cancel* cancel);
void mmi_cancel_destroy(mmi_cancel* cancel);

typedef void (*mmi_progress_fn)(void* user, int64_t done, int64_t total);

typedef struct mmi_run_options {
  int32_t threads;        /* 0: one per hardware thread */
  mmi_cancel* cancel;     /* may be NULL */
  mmi_progress_fn progress; /* may be NULL; done ascending, last call done == total */
  void* progress_user;
} mmi_run_options; /* a NULL mmi_run_options* means all defaults */

/* ---- modality layout ---------------------------------------------------------------------------------------- */

typedef enum mmi_modality { MMI_TEXT = 0, MMI_VIDEO = 1 } mmi_modality;

typedef struct mmi_segment {
  int32_t modality; /* mmi_modality */
  int64_t tokens;   /* text: its length (video: ignored) */
  int64_t t, h, w;  /* video: temporal patches × a grid of h×w tokens each */
} mmi_segment;

/* MMI_OK when the segments describe exactly `tokens` tokens (tokens < 0: any total); otherwise the message names
 * the segment and field. */
mmi_status mmi_layout_check(const mmi_segment* segments, int64_t count, int64_t tokens);

/* ---- dense attention ------------------------------------------------------------------------------------------ */

typedef struct mmi_dense_options {
  int32_t causal;           /* nonzero: key k <= row */
  const int64_t* segments;  /* cu_seqlens: 0 = s[0] < ... < s[m] = N, attention within a segment; NULL: one */
  int64_t segment_count;    /* entries in segments (m + 1) */
  float scale;              /* 0: 1/sqrt(D) */
  int64_t query_offset;     /* q holds rows [query_offset, query_offset + Nq) of the k/v sequence (Nq <= Nk) */
} mmi_dense_options;        /* NULL: causal, one segment, default scale, q rows = k rows */

/* out: fp32 [Hq, Nq, D]. Segments and causality are over k/v positions; q row i sits at query_offset + i. */
mmi_status mmi_attention_dense(const mmi_tensor* q, const mmi_tensor* k, const mmi_tensor* v,
                               const mmi_dense_options* options, float* out, int64_t out_length,
                               const mmi_run_options* run);

/* ---- sparse patterns and their index --------------------------------------------------------------------------- */

typedef enum mmi_pattern_kind {
  MMI_PATTERN_DENSE = 0,
  MMI_PATTERN_A_SHAPE = 1,
  MMI_PATTERN_VERTICAL_SLASH = 2,
  MMI_PATTERN_BLOCK_SPARSE = 3,
  MMI_PATTERN_GRID = 4,
  MMI_PATTERN_Q_BOUNDARY = 5,
  MMI_PATTERN_TWO_D_BOUNDARY = 6
} mmi_pattern_kind;

typedef struct mmi_vs_budget {
  int64_t vertical; /* key columns, the 30 forced sink columns included */
  int64_t slash;    /* diagonals, the 100 forced local ones included */
} mmi_vs_budget;

/* One head's pattern and budgets (kernels/README.md describes each). */
typedef struct mmi_pattern {
  int32_t kind;          /* mmi_pattern_kind */
  int64_t sink_tokens;   /* A-shape, grid */
  int64_t local_tokens;  /* A-shape: band; grid: band in the permuted order */
  mmi_vs_budget vertical_slash;
  int64_t top_k_blocks;  /* block-sparse */
  int64_t grid_lines;    /* grid: phases kept as vertical lines per video run */
  mmi_vs_budget text_rows, video_rows;                                          /* Q-boundary */
  mmi_vs_budget text_to_text, text_to_video, video_to_text, video_to_video;     /* 2D-boundary */
} mmi_pattern;

/* Fills *pattern with `kind` and the default budgets. */
mmi_status mmi_pattern_defaults(int32_t kind, mmi_pattern* pattern);

/* Per query head: a sparse index (mmi/sparse_index.hpp) and, for the grid pattern, the stride and phases chosen
 * per video run. */
typedef struct mmi_index mmi_index;

/* Estimates every query head's index from q and k. patterns: 1 entry (all heads) or Hq entries. segments: the
 * modality layout (NULL with count 0: all text). */
mmi_status mmi_index_estimate(const mmi_tensor* q, const mmi_tensor* k, const mmi_segment* segments,
                              int64_t segment_count, const mmi_pattern* patterns, int64_t pattern_count, float scale,
                              const mmi_run_options* run, mmi_index** out);
void mmi_index_destroy(mmi_index* index);

/* A read-only view of one head's index; pointers stay valid while the index lives. */
typedef struct mmi_index_head_view {
  int64_t tokens;
  int64_t query_blocks;           /* ceil(tokens / 64) */
  const int64_t* block_offsets;   /* query_blocks + 1 */
  const int32_t* block_ids;       /* block_offsets[query_blocks] entries */
  const int64_t* column_offsets;  /* query_blocks + 1 */
  const int32_t* column_ids;      /* column_offsets[query_blocks] entries */
  const int32_t* row_perm;        /* tokens entries, or NULL (identity) */
  const int32_t* col_perm;        /* tokens entries, or NULL (identity) */
} mmi_index_head_view;

mmi_status mmi_index_shape(const mmi_index* index, int64_t* heads, int64_t* tokens);
mmi_status mmi_index_head(const mmi_index* index, int64_t head, mmi_index_head_view* out);
/* Builds an index from per-head views (copied and validated): for indices made elsewhere. */
mmi_status mmi_index_create(const mmi_index_head_view* heads, int64_t head_count, mmi_index** out);

typedef struct mmi_density {
  int64_t computed; /* (row, key) pairs the head's index keeps, causal mask applied */
  int64_t total;    /* N(N+1)/2 */
  double value;
} mmi_density;
mmi_status mmi_index_density(const mmi_index* index, int64_t head, mmi_density* out);

typedef struct mmi_grid_choice {
  int64_t start, length; /* the video run */
  int64_t stride;        /* chosen period */
  int64_t prior;         /* the layout's period h*w */
  double score;
  const int64_t* phases; /* phase_count entries, ascending; valid while the index lives */
  int64_t phase_count;
} mmi_grid_choice;
/* Number of grid choices of a head (one per video run for the grid pattern, else 0), and one of them. */
mmi_status mmi_index_grid_count(const mmi_index* index, int64_t head, int64_t* count);
mmi_status mmi_index_grid(const mmi_index* index, int64_t head, int64_t which, mmi_grid_choice* out);

/* ---- sparse attention ------------------------------------------------------------------------------------------ */

/* Each row attends exactly the keys its index lists (causal on original positions when `causal`); output rows at
 * original positions; a row with no key gets zeros. The index must have Hq heads and N tokens. */
mmi_status mmi_attention_sparse(const mmi_tensor* q, const mmi_tensor* k, const mmi_tensor* v,
                                const mmi_index* index, int32_t causal, float scale, float* out, int64_t out_length,
                                const mmi_run_options* run);

/* ---- heatmaps --------------------------------------------------------------------------------------------------- */

typedef struct mmi_heatmap_options {
  int64_t samples; /* query rows sampled evenly, first and last included (<= N used) */
  int64_t grid;    /* G, 1..4096 */
  int32_t causal;
  float scale;
} mmi_heatmap_options;

/* Caller-allocated outputs of one head: the four grids hold G*G floats (row-major, row bin × key bin), the row
 * sample counts G int32, rows `samples` int64 (row_count says how many were written). */
typedef struct mmi_heatmap {
  float* mass;                 /* mean softmax mass of the sampled rows, original order */
  float* mass_permuted;        /* the same in the index's kernel order */
  float* mask;                 /* share of the cell's causal (row, key) pairs the mask keeps */
  float* mask_permuted;
  int32_t* row_samples;        /* sampled rows per row bin */
  int32_t* row_samples_permuted;
  int64_t* rows;               /* the sampled original row positions */
  int64_t row_count;           /* out */
  double recall;               /* out: attention mass inside the mask, mean over sampled rows */
  double coverage;             /* out: kept pairs / causal pairs over the sampled rows */
} mmi_heatmap;

mmi_status mmi_heatmaps(const mmi_tensor* q, const mmi_tensor* k, const mmi_index* index, const int64_t* heads,
                        int64_t head_count, const mmi_heatmap_options* options, mmi_heatmap* out,
                        const mmi_run_options* run);

/* ---- synthetic inputs ------------------------------------------------------------------------------------------ */

typedef struct mmi_synthetic_spec {
  const mmi_segment* segments;
  int64_t segment_count;
  int64_t heads_q, heads_kv, dim; /* dim 64..256 */
  uint64_t seed;
  int64_t sink_tokens;
} mmi_synthetic_spec;

/* Fills fp32 q [Hq, N, D], k and v [Hkv, N, D] with video-like structure (kernels/include/mmi/attention/
 * synthetic.hpp); deterministic per seed and independent of the thread count. */
mmi_status mmi_synthetic_qkv(const mmi_synthetic_spec* spec, float* q, int64_t q_length, float* k, int64_t k_length,
                             float* v, int64_t v_length, const mmi_run_options* run);

/* A benchmark layout of `tokens` tokens: system text, one video run of t×h×w, question text. Writes up to 3
 * segments into out (capacity 3) and their number into *count. */
mmi_status mmi_synthetic_layout(int64_t tokens, int64_t h, int64_t w, mmi_segment* out, int64_t* count);

#ifdef __cplusplus
}
#endif

#endif /* MMI_H */
