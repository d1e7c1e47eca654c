/* The engine's C API: the attention core (dense and sparse attention, pattern estimation, heatmaps, synthetic
 * inputs) and the model runtime (load a model folder, encode video frames, pre-fill a session, decode tokens) behind
 * plain C types. Every function returns an mmi_status; on failure mmi_last_error() gives a message
 * naming the argument and the problem. No C++ exception crosses this boundary. Long calls take mmi_run_options:
 * a thread count, a cancel token checked between work units (a head's query block, a head) and a progress
 * callback, called on the calling thread.
 *
 * Operands are contiguous: q [Hq, N, D], k/v [Hkv, N, D] (GQA: query head h reads kv head h / (Hq/Hkv)), in fp32,
 * fp16 or bf16 (16-bit values passed as their raw bits); outputs are fp32 [Hq, N, D]. Every buffer comes with
 * its length in elements, checked against the shape. Nothing here needs a GPU; where one is present, models run on
 * it (see mmi_device). */
#ifndef MMI_H
#define MMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMI_API_VERSION 3

typedef enum mmi_status {
  MMI_OK = 0,
  MMI_INVALID_ARGUMENT = 1, /* shapes, lengths, layouts, indices, budgets, null pointers */
  MMI_NON_FINITE = 2,       /* NaN or Inf in an input tensor */
  MMI_CANCELLED = 3,        /* the cancel token was raised */
  MMI_OUT_OF_MEMORY = 4,
  MMI_INTERNAL = 5,             /* a bug in the engine */
  MMI_NOT_FOUND = 6,            /* a file the call needs does not exist (model folder, weights, pattern file) */
  MMI_MODEL_INVALID = 7,        /* a model folder that cannot be used: bad safetensors, missing tensor, config... */
  MMI_UNSUPPORTED_MODEL = 8,    /* config.json names a model family or variant this engine does not run */
  MMI_PATTERN_FILE_INVALID = 9, /* a pattern file that is malformed or made for another model */
  MMI_DEVICE_UNAVAILABLE = 10,  /* the GPU backend was asked for but no usable GPU is there */
  MMI_DEVICE_ERROR = 11         /* a GPU call failed */
} mmi_status;

int32_t mmi_api_version(void);
/* "MMI_OK", "MMI_INVALID_ARGUMENT", ...; "MMI_UNKNOWN" for other values. */
const char* mmi_status_name(mmi_status status);
/* The message of the last failed call on this thread; "" after a success. Valid until the next call on it. */
const char* mmi_last_error(void);

/* What the last failed call on this thread was about, beside its status: the engine's own error kind (e.g.
 * "TensorShape", "FileNotFound", "WrongModel", "InvalidArgument"), the file and the subject (tensor name, config key
 * or JSON path); "" where there is none. Valid until the next call on this thread. */
typedef struct mmi_error_info {
  const char* kind;
  const char* file;
  const char* subject;
} mmi_error_info;
void mmi_last_error_info(mmi_error_info* out);

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
  /* mmi_device (enum below) for the attention calls (dense, sparse, heatmaps); 0: AUTO. AUTO runs fp16/bf16 inputs
   * on the GPU's kernels when a GPU is present and keeps fp32 inputs on the CPU (at their precision); GPU also
   * rounds fp32 inputs to bf16, and refuses calls the GPU kernels do not take (MMI_INVALID_ARGUMENT) or a machine
   * without a GPU (MMI_DEVICE_UNAVAILABLE); CPU, or MMI_DEVICE=cpu in the environment, keeps them on the CPU. The
   * GPU kernels take causal attention with queries = keys over one segment at head dims 64, 80 and 128 (dense and
   * sparse; other calls run on the CPU under AUTO), and heatmaps at any head dim. Index estimation and the model
   * runtime's calls do not read it. On the GPU, threads is not used and progress comes once, at the end. */
  int32_t device;
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

/* ==== the model runtime (Qwen2.5-VL) ======================================================================== *
 * A model is loaded once from a Hugging Face folder (weights memory-mapped). Video frames, already sampled and
 * resized (RGB24, sides multiples of 28), go through an encoder into a video (its vision features). A session holds
 * a KV cache: pre-fill appends tokens (the video's <|video_pad|> tokens take its features) and returns the last
 * logits; decode generates tokens one by one, feeding each back. Tokenisation, the chat template and the M-RoPE
 * positions are the caller's (models/qwen2_5_vl/prompt.ts and rope-index.ts).
 * Calls on one model and everything made from it are serialised by the model (one runs at a time); the model's own
 * thread pool does the work (mmi_run_options.threads is not used here). Progress units: temporal patches
 * (encoder; total -1 while streaming), layers (pre-fill), tokens (decode). Cancellation is checked between
 * temporal patches, layers and tokens; a cancelled pre-fill leaves the session as it was. Destroy sessions and
 * encoders before their model. */

/* ---- where the engine can compute --------------------------------------------------------------------------- */

/* Where a model computes. AUTO: the GPU when the model runtime can use one (a CUDA GPU and cuBLASLt, in a build
 * with CUDA), else the CPU; the environment variable MMI_DEVICE (cpu, gpu or auto) overrides what AUTO picks, so a
 * user can keep the engine on the CPU without changing the program. GPU: the GPU or MMI_DEVICE_UNAVAILABLE saying
 * why not. */
typedef enum mmi_device { MMI_DEVICE_AUTO = 0, MMI_DEVICE_CPU = 1, MMI_DEVICE_GPU = 2 } mmi_device;

typedef struct mmi_backend_info {
  int32_t cuda_built;  /* nonzero when this build holds CUDA code */
  int32_t gpu_count;   /* devices the CUDA runtime reports (0 when not built with CUDA, no driver or no GPU) */
  int32_t cpu_threads; /* hardware threads */
  const char* detail;  /* one line for people; valid until the next call on this thread */
  int32_t gpu_usable;  /* nonzero when models can run on the GPU (a GPU and cuBLASLt) */
  int32_t auto_device; /* mmi_device (CPU or GPU) that MMI_DEVICE_AUTO picks now, MMI_DEVICE included */
} mmi_backend_info;
/* Errors: MMI_INVALID_ARGUMENT when MMI_DEVICE holds something other than cpu, gpu or auto. */
mmi_status mmi_backend_info_get(mmi_backend_info* out);

/* ---- models ------------------------------------------------------------------------------------------------ */

typedef struct mmi_model mmi_model;

typedef struct mmi_model_options {
  int32_t threads;             /* 0: one per hardware thread */
  int64_t vision_chunk_frames; /* temporal patches the vision tower encodes at once (0: 1) */
  int64_t token_chunk;         /* rows per chunk of the language model's projections and MLP (0: 512) */
  int32_t device;              /* mmi_device; 0: AUTO */
} mmi_model_options;           /* NULL: all defaults */

/* Errors: MMI_NOT_FOUND, MMI_MODEL_INVALID or MMI_UNSUPPORTED_MODEL, with mmi_last_error_info naming the file and
 * the tensor or key; on the GPU also MMI_DEVICE_UNAVAILABLE (device GPU without a usable one) and MMI_OUT_OF_MEMORY
 * (the weights do not fit). */
mmi_status mmi_model_load(const char* dir, const mmi_model_options* options, mmi_model** out);
void mmi_model_destroy(mmi_model* model);

/* Pointers stay valid while the model lives. */
typedef struct mmi_model_info {
  const char* family; /* "qwen2_5_vl" */
  int64_t vision_layers, text_layers, hidden, heads, kv_heads, head_dim, vocab;
  int64_t tensors;
  uint64_t weight_bytes;
  const char* const* dtypes; /* as safetensors names them */
  int64_t dtype_count;
  const char* const* files; /* weight file names */
  int64_t file_count;
  int32_t video_token_id, vision_start_token_id, vision_end_token_id;
  const int32_t* eos_token_ids;
  int64_t eos_count;
  int64_t patch, merge, temporal_patch, tokens_per_second; /* vision: sides are multiples of patch * merge */
  int64_t min_pixels, max_pixels;                          /* preprocessor_config.json */
  int32_t threads;                                         /* CPU threads the model computes with */
  int32_t device;      /* mmi_device it computes on: CPU or GPU */
  const char* backend; /* e.g. "cpu (16 threads)" or "cuda: NVIDIA H100 80GB HBM3 (sm_90, ...), cuBLASLt 130100" */
} mmi_model_info;
mmi_status mmi_model_info_get(const mmi_model* model, mmi_model_info* out);

/* ---- video: frames -> vision features ------------------------------------------------------------------------- */

typedef struct mmi_video mmi_video; /* one video's features [t * h/2 * w/2, hidden] and its grid */
typedef struct mmi_encoder mmi_encoder;

/* Frames of height x width pixels (multiples of patch * merge). `cancel` (may be NULL) stops its pushes and its
 * finish; once raised, the encoder is spent. The model must outlive the encoder. */
mmi_status mmi_encoder_create(mmi_model* model, int64_t height, int64_t width, mmi_cancel* cancel,
                              mmi_encoder** out);
/* rgb: `frames` frames of height * width * 3 bytes (length bytes in all). Every complete chunk of temporal patches
 * is encoded at once; only one chunk of frames is held. run: progress only (temporal patches, total -1). */
mmi_status mmi_encoder_push(mmi_encoder* encoder, const uint8_t* rgb, int64_t length, int64_t frames,
                            const mmi_run_options* run);
/* Encodes what is left (an odd last frame is repeated) and hands the video over; the encoder is empty after. */
mmi_status mmi_encoder_finish(mmi_encoder* encoder, const mmi_run_options* run, mmi_video** out);
void mmi_encoder_destroy(mmi_encoder* encoder);

typedef struct mmi_video_info {
  int64_t t, h, w;         /* grid in patches: temporal patches, patch rows, patch columns */
  int64_t tokens;          /* t * (h / merge) * (w / merge): the <|video_pad|> tokens it fills */
  int64_t hidden;
  const float* features;   /* tokens * hidden, valid while the video lives */
} mmi_video_info;
mmi_status mmi_video_info_get(const mmi_video* video, mmi_video_info* out);
void mmi_video_destroy(mmi_video* video);

/* ---- pattern files and the sparse pre-fill (native/patterns/README.md) ----------------------------------------- */

typedef struct mmi_pattern_file mmi_pattern_file;

/* Reads and validates a pattern file for `model`: its family and sizes must be the model's, and (unless
 * require_same_config is 0) the SHA-256 of config.json too. Errors: MMI_NOT_FOUND, MMI_PATTERN_FILE_INVALID with
 * mmi_last_error_info's kind (e.g. "WrongModel", "UnknownPattern"), file and subject (the JSON path). */
mmi_status mmi_pattern_file_load(const char* path, const mmi_model* model, int32_t require_same_config,
                                 mmi_pattern_file** out);
void mmi_pattern_file_destroy(mmi_pattern_file* file);
/* Each head's pattern (mmi_pattern_kind), [layer * heads + head]; length must be layers * heads. */
mmi_status mmi_pattern_file_kinds(const mmi_pattern_file* file, int32_t* kinds, int64_t length);

/* Why a head ran dense. */
typedef enum mmi_dense_reason {
  MMI_DENSE_NONE = 0, /* it ran its sparse pattern */
  MMI_DENSE_NO_PATTERN_FILE = 1,
  MMI_DENSE_PATTERN_IS_DENSE = 2,
  MMI_DENSE_SHORT_PROMPT = 3,
  MMI_DENSE_RECALL_FLOOR = 4,
  MMI_DENSE_CONTINUED_QUERIES = 5 /* a follow-up continuing a cache */
} mmi_dense_reason;

typedef struct mmi_head_report {
  int64_t layer, head;
  int32_t planned, applied; /* mmi_pattern_kind: the file's, and what ran */
  int32_t dense_reason;     /* mmi_dense_reason */
  int64_t queries, keys;    /* rows pre-filled; the whole sequence */
  double density;           /* kept (row, key) pairs / causal pairs of what ran */
  double recall;            /* the estimated index's recall on sampled rows; negative when not measured */
  double estimation_ms, attention_ms;
} mmi_head_report;

/* One head's heatmap (the attention core's heatmaps on the index that ran); pointers valid during the call. */
typedef struct mmi_head_heatmap {
  int64_t layer, head;
  int64_t tokens;  /* N: bins are position * grid / N */
  int32_t pattern; /* mmi_pattern_kind applied */
  int64_t grid;    /* G */
  const float* mass;           /* G*G, original order */
  const float* mass_permuted;  /* G*G, kernel order */
  const float* mask;
  const float* mask_permuted;
  const int32_t* row_samples;  /* G */
  const int32_t* row_samples_permuted;
  const int64_t* rows;         /* the sampled original rows */
  int64_t row_count;
  double recall, coverage;
  const mmi_grid_choice* grid_choices; /* grid heads: one per video run */
  int64_t grid_choice_count;
} mmi_head_heatmap;

/* Called from the engine's worker threads, one call at a time; keep them short (copy and queue). */
typedef void (*mmi_head_report_fn)(void* user, const mmi_head_report* report);
typedef void (*mmi_head_heatmap_fn)(void* user, const mmi_head_heatmap* heatmap);

/* The prompt length below which a pre-fill runs dense when mmi_attention_options.dense_below_tokens is negative:
   below it sparse attention costs more than it saves (docs/algorithm.md §8). */
int64_t mmi_default_dense_below_tokens(void);

typedef struct mmi_attention_options {
  const mmi_pattern_file* patterns; /* NULL: every head dense (reports and heatmaps still come) */
  int64_t dense_below_tokens;       /* prompts shorter run dense; negative: mmi_default_dense_below_tokens() */
  double recall_floor;              /* 0: off; else heads whose estimated recall is lower run dense */
  int64_t recall_samples;           /* rows the floor is measured on; 0: the default (32) */
  const int64_t* heatmap_heads;     /* heatmap_count pairs (layer, head); fresh pre-fills only */
  int64_t heatmap_count;
  int64_t heatmap_grid;    /* G; 0: 64 */
  int64_t heatmap_samples; /* query rows sampled; 0: 64 */
  mmi_head_report_fn on_head;       /* may be NULL */
  mmi_head_heatmap_fn on_heatmap;   /* may be NULL */
  void* user;
} mmi_attention_options;

/* ---- sessions ------------------------------------------------------------------------------------------------ */

typedef struct mmi_session mmi_session;

/* kv_capacity: tokens to reserve (0: grows as needed). The model must outlive the session. */
mmi_status mmi_session_create(mmi_model* model, int64_t kv_capacity, mmi_session** out);
void mmi_session_destroy(mmi_session* session);

typedef struct mmi_prefill_input {
  const int32_t* ids;
  int64_t id_count;
  const int64_t* positions; /* rows t, h, w of id_count each (3 * id_count), or NULL: text continuing the cache */
  int64_t position_count;
  const mmi_video* const* videos; /* one per run of <|video_pad|> tokens in ids, in order */
  int64_t video_count;
  const mmi_attention_options* attention; /* NULL: the runtime's dense causal attention, no reports */
} mmi_prefill_input;

/* Appends the tokens to the session's cache. logits: the last token's [vocab] (NULL with length 0 to skip). */
mmi_status mmi_session_prefill(mmi_session* session, const mmi_prefill_input* input, const mmi_run_options* run,
                               float* logits, int64_t logits_length);

typedef struct mmi_decode_options {
  int64_t max_tokens;
  float temperature; /* 0: greedy */
  float top_p;       /* 0 or 1: off */
  int64_t top_k;     /* 0: off */
  uint64_t seed;
  const int32_t* stop_ids;
  int64_t stop_count;
} mmi_decode_options;

/* Called on the decoding thread for each token, the stop token included; return nonzero to go on. */
typedef int32_t (*mmi_token_fn)(void* user, int32_t token);

typedef enum mmi_decode_stop { MMI_STOP_TOKEN = 0, MMI_STOP_MAX_TOKENS = 1, MMI_STOP_CALLER = 2 } mmi_decode_stop;

typedef struct mmi_decode_result {
  int64_t tokens; /* generated (all written to tokens_out when its capacity allows) */
  int32_t stop;   /* mmi_decode_stop */
} mmi_decode_result;

/* Generates from the last pre-filled logits; every token ends up in the cache. tokens_out may be NULL. */
mmi_status mmi_session_decode(mmi_session* session, const mmi_decode_options* options, mmi_token_fn on_token,
                              void* user, const mmi_run_options* run, int32_t* tokens_out, int64_t capacity,
                              mmi_decode_result* out);

typedef struct mmi_session_state {
  int64_t length;        /* tokens in the cache */
  int64_t next_position; /* the position the next text token gets */
  int64_t segments;      /* runs of the modality layout */
} mmi_session_state;
mmi_status mmi_session_state_get(const mmi_session* session, mmi_session_state* out);
/* The modality layout of the cache (video runs with their merged grid t x h x w); writes up to capacity. */
mmi_status mmi_session_layout(const mmi_session* session, mmi_segment* out, int64_t capacity, int64_t* count);
/* Drops every token after the first `length` (not inside a video). */
mmi_status mmi_session_rewind(mmi_session* session, int64_t length);

/* ---- the offline pattern search (native/patterns/README.md "The search") -------------------------------------- *
 * For every layer and head, each candidate pattern's attention recall on the calibration prompts against the kernel
 * tiles it costs; per head the highest recall within a cost target. Deterministic (the same inputs and settings give
 * byte-identical files), cancellable between heads, and resumable: the results of finished (prompt, layer) units go
 * to a checkpoint file, and a later search with the same inputs and settings skips them. */

typedef struct mmi_search_settings {
  double cost_target;          /* kernel tiles / dense causal tiles a head may cost, in [0, 1]; negative: 0.1 */
  int64_t recall_samples;      /* query rows recall is measured on; 0: 64 */
  double tie_tolerance;        /* recalls this close tie and the cheaper estimation wins; negative: 0.005 */
  double dense_below_recall;   /* a head whose best recall is lower stays dense; negative: 0.6 */
  const char* candidates_json; /* JSON array of {pattern, budgets} as in a pattern file's search.candidates; NULL:
                                  the default candidates (sized for prompts of 16K tokens and more) */
} mmi_search_settings;         /* NULL: all defaults */

typedef enum mmi_search_stage { MMI_SEARCH_ENCODING = 0, MMI_SEARCH_SCORING = 1, MMI_SEARCH_DONE = 2 } mmi_search_stage;

typedef struct mmi_search_progress {
  int32_t stage;          /* mmi_search_stage */
  int64_t prompt, prompts;
  int64_t layer, layers;  /* scoring: the layer just finished */
  int64_t done, total;    /* (prompt, layer) units finished, checkpointed ones included */
} mmi_search_progress;

/* Called on the searching thread. */
typedef void (*mmi_search_progress_fn)(void* user, const mmi_search_progress* progress);

typedef struct mmi_search_options {
  const char* checkpoint;          /* NULL or "": none. A checkpoint of other inputs or settings is refused (kind
                                      CheckpointInvalid); the caller deletes it once the file is saved */
  mmi_search_progress_fn progress; /* may be NULL */
  void* progress_user;
} mmi_search_options;              /* NULL: no checkpoint, no progress */

/* One calibration prompt as mmi_session_prefill takes it, with the videos of its <|video_pad|> runs. */
typedef struct mmi_calibration_prompt {
  const char* name; /* recorded in the file, e.g. the video's file name (UTF-8) */
  const int32_t* ids;
  int64_t id_count;
  const int64_t* positions; /* rows t, h, w of id_count each */
  int64_t position_count;   /* 3 * id_count */
  const mmi_video* const* videos;
  int64_t video_count;
} mmi_calibration_prompt;

/* Runs the search on the model (dense pre-fill of each prompt, scoring every head as it goes) and returns the file
 * it chose, made for this model. run: the cancel token only (the model's threads compute). Errors:
 * MMI_INVALID_ARGUMENT (prompts, settings), MMI_PATTERN_FILE_INVALID (candidates: kind InvalidField, UnknownPattern
 * or NegativeBudget with the JSON path; checkpoint: CheckpointInvalid, FileUnwritable), MMI_CANCELLED (the
 * checkpoint keeps the units that finished). */
mmi_status mmi_pattern_search(mmi_model* model, const mmi_calibration_prompt* prompts, int64_t prompt_count,
                              const mmi_search_settings* settings, const mmi_search_options* options,
                              const mmi_run_options* run, mmi_pattern_file** out);

/* What a file must match to be used with a model. */
typedef struct mmi_model_identity {
  const char* family; /* [a-z0-9_]+ */
  int64_t layers, heads, kv_heads, head_dim;
  const char* config_sha256; /* 64 lowercase hexadecimal digits */
} mmi_model_identity;

/* A calibration prompt given as post-RoPE q/k per layer (synthetic inputs, or q/k captured elsewhere). */
typedef struct mmi_qk_prompt {
  const char* name;
  const mmi_segment* segments; /* its modality layout; NULL with count 0: all text */
  int64_t segment_count;
  const mmi_tensor* q; /* `layers` tensors [heads, N, head_dim] */
  const mmi_tensor* k; /* `layers` tensors [kv_heads, N, head_dim] */
  int64_t layers;
  float scale; /* 0: 1/sqrt(head_dim) */
} mmi_qk_prompt;

/* The same search on q/k; run: threads and the cancel token. */
mmi_status mmi_pattern_search_qk(const mmi_model_identity* identity, const mmi_qk_prompt* prompts,
                                 int64_t prompt_count, const mmi_search_settings* settings,
                                 const mmi_search_options* options, const mmi_run_options* run,
                                 mmi_pattern_file** out);

/* The file as the writer makes it (fixed key order, shortest round-trip numbers: equal files, equal bytes). *length
 * gets its size in bytes; up to `capacity` bytes are copied into buffer (no terminating NUL; NULL with 0 to ask). */
mmi_status mmi_pattern_file_text(const mmi_pattern_file* file, char* buffer, int64_t capacity, int64_t* length);
/* Writes the file atomically (a temporary file beside it, then a rename). Errors: MMI_PATTERN_FILE_INVALID, kind
 * FileUnwritable. */
mmi_status mmi_pattern_file_save(const mmi_pattern_file* file, const char* path);

/* Inputs with planted attention structure over one kv head (the attention core's generators), for testing that a
 * search finds what was planted. */
typedef enum mmi_planted_kind {
  MMI_PLANTED_VERTICAL_SLASH = 0, /* verticals at `columns` (every later row attends them), slashes at `offsets` */
  MMI_PLANTED_GRID = 1 /* per video run: lines on keys of `phase` modulo `stride`, slashes at multiples of stride */
} mmi_planted_kind;

typedef struct mmi_planted_spec {
  int32_t kind; /* mmi_planted_kind */
  const mmi_segment* segments;
  int64_t segment_count;
  int64_t heads_q, dim; /* dim 64..256 */
  const int64_t* columns;
  int64_t column_count;
  const int64_t* offsets;
  int64_t offset_count;
  int64_t stride, phase;
  uint64_t seed;
} mmi_planted_spec;

/* Fills fp32 q [heads_q, N, dim], k and v [1, N, dim]; deterministic per seed. */
mmi_status mmi_synthetic_planted(const mmi_planted_spec* spec, float* q, int64_t q_length, float* k,
                                 int64_t k_length, float* v, int64_t v_length);

#ifdef __cplusplus
}
#endif

#endif /* MMI_H */
