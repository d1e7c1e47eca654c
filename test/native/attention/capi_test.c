/* The C API from C (so the header stays valid C): results against a float64 attention written here, status codes
 * and messages for hostile arguments, cancellation, progress, index export and import. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmi.h"

static int failures = 0;
#define EXPECT(cond, ...)                                      \
  do {                                                         \
    if (!(cond)) {                                             \
      fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                            \
      fprintf(stderr, "\n");                                   \
      ++failures;                                              \
    }                                                          \
  } while (0)
#define EXPECT_STATUS(call, status)                                                                         \
  do {                                                                                                      \
    mmi_status s_ = (call);                                                                                 \
    EXPECT(s_ == (status), "got %s (%s), expected %s", mmi_status_name(s_), mmi_last_error(), #status); \
  } while (0)

static unsigned long long rng_state = 12345;
static double uniform(void) { /* xorshift64*: small and fixed for the test */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static float* random_floats(int64_t count) {
  float* p = malloc(sizeof(float) * (size_t)count);
  for (int64_t i = 0; i < count; ++i) p[i] = (float)(2.0 * uniform() - 1.0);
  return p;
}

enum { HQ = 4, HKV = 2, N = 150, D = 64 };

/* Causal float64 attention, query head h reads kv head h / (HQ / HKV). */
static void reference(const float* q, const float* k, const float* v, double* out) {
  double w[N];
  for (int h = 0; h < HQ; ++h) {
    const int g = h / (HQ / HKV);
    for (int r = 0; r < N; ++r) {
      double mx = -INFINITY, sum = 0.0;
      for (int c = 0; c <= r; ++c) {
        double s = 0.0;
        for (int d = 0; d < D; ++d) s += (double)q[(h * N + r) * D + d] * k[(g * N + c) * D + d];
        w[c] = s / sqrt((double)D);
        if (w[c] > mx) mx = w[c];
      }
      for (int c = 0; c <= r; ++c) sum += (w[c] = exp(w[c] - mx));
      for (int d = 0; d < D; ++d) {
        double o = 0.0;
        for (int c = 0; c <= r; ++c) o += w[c] / sum * v[(g * N + c) * D + d];
        out[(h * N + r) * D + d] = o;
      }
    }
  }
}

static double rel_error(const float* o, const double* ref, int64_t count) {
  double diff = 0.0, scale = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    diff = fmax(diff, fabs(o[i] - ref[i]));
    scale = fmax(scale, fabs(ref[i]));
  }
  return diff / scale;
}

static int64_t progress_calls = 0, progress_last = -1, progress_total = 0;
static void on_progress(void* user, int64_t done, int64_t total) {
  (void)user;
  EXPECT(done > progress_last, "progress went from %lld to %lld", (long long)progress_last, (long long)done);
  progress_last = done;
  progress_total = total;
  ++progress_calls;
}

int main(void) {
  const int64_t qn = HQ * N * D, kn = HKV * N * D;
  float* q = random_floats(qn);
  float* k = random_floats(kn);
  float* v = random_floats(kn);
  float* out = malloc(sizeof(float) * qn);
  double* ref = malloc(sizeof(double) * qn);
  reference(q, k, v, ref);
  const mmi_tensor tq = {q, MMI_F32, HQ, N, D, qn}, tk = {k, MMI_F32, HKV, N, D, kn}, tv = {v, MMI_F32, HKV, N, D, kn};

  EXPECT(mmi_api_version() == MMI_API_VERSION, "api version");
  EXPECT(strcmp(mmi_status_name(MMI_NON_FINITE), "MMI_NON_FINITE") == 0, "status name");
  EXPECT(strcmp(mmi_status_name((mmi_status)99), "MMI_UNKNOWN") == 0, "unknown status name");

  /* Dense: default options are causal. Progress reaches the total, ascending. */
  mmi_run_options run = {2, NULL, on_progress, NULL};
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, out, qn, &run), MMI_OK);
  EXPECT(rel_error(out, ref, qn) < 1e-5, "dense error %g", rel_error(out, ref, qn));
  EXPECT(progress_calls > 0 && progress_last == progress_total && progress_total == HQ * 3, "progress %lld/%lld",
         (long long)progress_last, (long long)progress_total);
  EXPECT(strcmp(mmi_last_error(), "") == 0, "no message after success");

  /* A chunk of queries (rows 100..149) against all keys equals those rows of the full result. */
  {
    const int64_t rows = 50, chunk_len = HQ * rows * D;
    float* qc = malloc(sizeof(float) * chunk_len);
    for (int h = 0; h < HQ; ++h) memcpy(qc + h * rows * D, q + (h * N + 100) * D, sizeof(float) * rows * D);
    const mmi_tensor tc = {qc, MMI_F32, HQ, rows, D, chunk_len};
    const mmi_dense_options chunk = {1, NULL, 0, 0.0f, 100};
    float* oc = malloc(sizeof(float) * chunk_len);
    EXPECT_STATUS(mmi_attention_dense(&tc, &tk, &tv, &chunk, oc, chunk_len, NULL), MMI_OK);
    double diff = 0.0;
    for (int h = 0; h < HQ; ++h) {
      for (int64_t i = 0; i < rows * D; ++i) diff = fmax(diff, fabs(oc[h * rows * D + i] - ref[(h * N + 100) * D + i]));
    }
    EXPECT(diff < 1e-5, "chunk differs by %g", diff);
    const mmi_dense_options too_far = {1, NULL, 0, 0.0f, 101};
    EXPECT_STATUS(mmi_attention_dense(&tc, &tk, &tv, &too_far, oc, chunk_len, NULL), MMI_INVALID_ARGUMENT);
    free(qc);
    free(oc);
  }

  /* Every pattern at its default budget: at N = 150 the defaults keep everything, so it equals dense. */
  for (int kind = MMI_PATTERN_DENSE; kind <= MMI_PATTERN_TWO_D_BOUNDARY; ++kind) {
    mmi_pattern pattern;
    EXPECT_STATUS(mmi_pattern_defaults(kind, &pattern), MMI_OK);
    const mmi_segment layout[] = {{MMI_TEXT, 22, 0, 0, 0}, {MMI_VIDEO, 0, 2, 8, 4}, {MMI_TEXT, 64, 0, 0, 0}};
    mmi_index* index = NULL;
    EXPECT_STATUS(mmi_index_estimate(&tq, &tk, layout, 3, &pattern, 1, 0.0f, NULL, &index), MMI_OK);
    if (index == NULL) continue;
    int64_t heads = 0, tokens = 0;
    EXPECT_STATUS(mmi_index_shape(index, &heads, &tokens), MMI_OK);
    EXPECT(heads == HQ && tokens == N, "index shape %lld × %lld", (long long)heads, (long long)tokens);
    mmi_density density;
    EXPECT_STATUS(mmi_index_density(index, 1, &density), MMI_OK);
    EXPECT(density.value == 1.0 && density.total == N * (N + 1) / 2, "pattern %d density %g", kind, density.value);
    EXPECT_STATUS(mmi_attention_sparse(&tq, &tk, &tv, index, 1, 0.0f, out, qn, NULL), MMI_OK);
    EXPECT(rel_error(out, ref, qn) < 1e-5, "pattern %d error %g", kind, rel_error(out, ref, qn));
    int64_t grids = -1;
    EXPECT_STATUS(mmi_index_grid_count(index, 0, &grids), MMI_OK);
    EXPECT(grids == (kind == MMI_PATTERN_GRID ? 1 : 0), "grid choices %lld", (long long)grids);
    if (grids == 1) {
      mmi_grid_choice choice;
      EXPECT_STATUS(mmi_index_grid(index, 0, 0, &choice), MMI_OK);
      EXPECT(choice.start == 22 && choice.length == 64 && choice.prior == 32 && choice.phase_count > 0, "grid choice");
      EXPECT_STATUS(mmi_index_grid(index, 0, 1, &choice), MMI_INVALID_ARGUMENT);
    }
    /* Export every head and import the views again: the copy computes the same attention. */
    mmi_index_head_view views[HQ];
    for (int h = 0; h < HQ; ++h) EXPECT_STATUS(mmi_index_head(index, h, &views[h]), MMI_OK);
    mmi_index* copy = NULL;
    EXPECT_STATUS(mmi_index_create(views, HQ, &copy), MMI_OK);
    float* again = malloc(sizeof(float) * qn);
    EXPECT_STATUS(mmi_attention_sparse(&tq, &tk, &tv, copy, 1, 0.0f, again, qn, NULL), MMI_OK);
    EXPECT(memcmp(again, out, sizeof(float) * qn) == 0, "imported index differs");
    free(again);
    mmi_index_destroy(copy);
    mmi_index_destroy(index);
  }

  /* Hostile arguments: a status and a message, never a crash. */
  mmi_tensor bad = tq;
  bad.length = qn - 1;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  EXPECT(strstr(mmi_last_error(), "q holds") != NULL, "message: %s", mmi_last_error());
  bad = tq;
  bad.tokens = 0;
  bad.length = 0;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  bad = tq;
  bad.dtype = 7;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  bad = tq;
  bad.data = NULL;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  bad = tq;
  bad.heads = 3;
  bad.length = 3 * N * D;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, 3 * N * D, NULL), MMI_INVALID_ARGUMENT);
  bad = tq;
  bad.heads = (int64_t)1 << 40;
  EXPECT_STATUS(mmi_attention_dense(&bad, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_attention_dense(NULL, &tk, &tv, NULL, out, qn, NULL), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, NULL, qn, NULL), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, out, qn + 1, NULL), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, q, qn, NULL), MMI_INVALID_ARGUMENT); /* out = q */
  EXPECT(strstr(mmi_last_error(), "overlaps") != NULL, "message: %s", mmi_last_error());
  const int64_t cu_bad[] = {0, 100, 90, N};
  const mmi_dense_options seg_bad = {0, cu_bad, 4, 0.0f, 0};
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, &seg_bad, out, qn, NULL), MMI_INVALID_ARGUMENT);
  const mmi_dense_options seg_null = {0, NULL, 3, 0.0f, 0};
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, &seg_null, out, qn, NULL), MMI_INVALID_ARGUMENT);
  const mmi_run_options bad_threads = {-1, NULL, NULL, NULL};
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, out, qn, &bad_threads), MMI_INVALID_ARGUMENT);
  q[17] = NAN;
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, out, qn, NULL), MMI_NON_FINITE);
  EXPECT(strstr(mmi_last_error(), "NaN") != NULL, "message: %s", mmi_last_error());
  q[17] = INFINITY;
  mmi_pattern vs;
  mmi_pattern_defaults(MMI_PATTERN_VERTICAL_SLASH, &vs);
  mmi_index* index = (mmi_index*)&failures; /* must be reset to NULL on failure */
  EXPECT_STATUS(mmi_index_estimate(&tq, &tk, NULL, 0, &vs, 1, 0.0f, NULL, &index), MMI_NON_FINITE);
  EXPECT(index == NULL, "out not cleared on failure");
  q[17] = 0.5f;

  /* Bad layouts. */
  const mmi_segment short_layout[] = {{MMI_TEXT, 100, 0, 0, 0}};
  EXPECT_STATUS(mmi_index_estimate(&tq, &tk, short_layout, 1, &vs, 1, 0.0f, NULL, &index), MMI_INVALID_ARGUMENT);
  EXPECT(strstr(mmi_last_error(), "covers 100 tokens") != NULL, "message: %s", mmi_last_error());
  const mmi_segment zero_video[] = {{MMI_TEXT, 10, 0, 0, 0}, {MMI_VIDEO, 0, 2, 0, 5}};
  EXPECT_STATUS(mmi_layout_check(zero_video, 2, -1), MMI_INVALID_ARGUMENT);
  EXPECT(strstr(mmi_last_error(), "segment 1 (video): h must be positive") != NULL, "message: %s", mmi_last_error());
  const mmi_segment odd_kind[] = {{5, 10, 0, 0, 0}};
  EXPECT_STATUS(mmi_layout_check(odd_kind, 1, 10), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_layout_check(short_layout, 0, 100), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_layout_check(NULL, 1, 100), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_layout_check(short_layout, 1, 100), MMI_OK);

  /* Bad patterns and indices. */
  mmi_pattern negative = vs;
  negative.vertical_slash.slash = -4;
  EXPECT_STATUS(mmi_index_estimate(&tq, &tk, NULL, 0, &negative, 1, 0.0f, NULL, &index), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_pattern_defaults(42, &negative), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_index_estimate(&tq, &tk, NULL, 0, &vs, 2, 0.0f, NULL, &index), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_attention_sparse(&tq, &tk, &tv, NULL, 1, 0.0f, out, qn, NULL), MMI_INVALID_ARGUMENT);
  const int64_t offsets[] = {0, 1, 2, 3};
  const int32_t ids_bad[] = {0, 5, 0};
  const mmi_index_head_view view_bad = {N, 3, offsets, ids_bad, offsets, ids_bad, NULL, NULL};
  mmi_index* imported = NULL;
  EXPECT_STATUS(mmi_index_create(&view_bad, 1, &imported), MMI_INVALID_ARGUMENT);
  EXPECT(strstr(mmi_last_error(), "out of range") != NULL, "message: %s", mmi_last_error());
  const int64_t zeros[] = {0, 0, 0, 0};
  const mmi_index_head_view empty = {N, 3, zeros, NULL, zeros, NULL, NULL, NULL};
  const mmi_index_head_view wrong_blocks = {N, 2, zeros, NULL, zeros, NULL, NULL, NULL};
  EXPECT_STATUS(mmi_index_create(&wrong_blocks, 1, &imported), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_index_create(&empty, 1, &imported), MMI_OK);
  /* One head's index for four query heads: refused. */
  EXPECT_STATUS(mmi_attention_sparse(&tq, &tk, &tv, imported, 1, 0.0f, out, qn, NULL), MMI_INVALID_ARGUMENT);
  EXPECT_STATUS(mmi_index_head(imported, 1, &(mmi_index_head_view){0}), MMI_INVALID_ARGUMENT);
  mmi_index_destroy(imported);

  /* Cancellation: a raised token stops the call with MMI_CANCELLED. */
  mmi_cancel* cancel = NULL;
  EXPECT_STATUS(mmi_cancel_create(&cancel), MMI_OK);
  EXPECT(mmi_cancel_requested(cancel) == 0, "fresh token raised");
  mmi_cancel_request(cancel);
  EXPECT(mmi_cancel_requested(cancel) == 1, "token not raised");
  const mmi_run_options cancelled = {1, cancel, NULL, NULL};
  EXPECT_STATUS(mmi_attention_dense(&tq, &tk, &tv, NULL, out, qn, &cancelled), MMI_CANCELLED);
  EXPECT_STATUS(mmi_index_estimate(&tq, &tk, NULL, 0, &vs, 1, 0.0f, &cancelled, &index), MMI_CANCELLED);
  mmi_cancel_request(NULL);
  mmi_cancel_destroy(cancel);

  /* Synthetic inputs and layout through the API, and a heatmap of them. */
  mmi_segment layout[3];
  int64_t count = 0;
  EXPECT_STATUS(mmi_synthetic_layout(600, 4, 6, layout, &count), MMI_OK);
  EXPECT(count == 3 && layout[1].modality == MMI_VIDEO && layout[1].h == 4, "synthetic layout");
  const mmi_synthetic_spec spec = {layout, count, 2, 1, 64, 7, 4};
  float* sq = malloc(sizeof(float) * 2 * 600 * 64);
  float* sk = malloc(sizeof(float) * 600 * 64);
  float* sv = malloc(sizeof(float) * 600 * 64);
  EXPECT_STATUS(mmi_synthetic_qkv(&spec, sq, 2 * 600 * 64, sk, 600 * 64, sv, 600 * 64, NULL), MMI_OK);
  EXPECT_STATUS(mmi_synthetic_qkv(&spec, sq, 2 * 600 * 64 - 1, sk, 600 * 64, sv, 600 * 64, NULL), MMI_INVALID_ARGUMENT);
  const mmi_tensor sq_t = {sq, MMI_F32, 2, 600, 64, 2 * 600 * 64}, sk_t = {sk, MMI_F32, 1, 600, 64, 600 * 64};
  mmi_pattern grid;
  mmi_pattern_defaults(MMI_PATTERN_GRID, &grid);
  grid.sink_tokens = 16;
  grid.local_tokens = 64;
  EXPECT_STATUS(mmi_index_estimate(&sq_t, &sk_t, layout, count, &grid, 1, 0.0f, NULL, &index), MMI_OK);
  enum { G = 8, S = 32 };
  float mass[G * G], mass_p[G * G], mask[G * G], mask_p[G * G];
  int32_t rows_in[G], rows_in_p[G];
  int64_t rows[S];
  mmi_heatmap hm = {mass, mass_p, mask, mask_p, rows_in, rows_in_p, rows, 0, 0.0, 0.0};
  const mmi_heatmap_options hopts = {S, G, 1, 0.0f};
  const int64_t which[] = {1};
  EXPECT_STATUS(mmi_heatmaps(&sq_t, &sk_t, index, which, 1, &hopts, &hm, NULL), MMI_OK);
  double total = 0.0;
  for (int i = 0; i < G * G; ++i) total += mass[i] * rows_in[i / G];
  EXPECT(hm.row_count == S && fabs(total - S) < 1e-3, "heatmap rows %lld mass %g", (long long)hm.row_count, total);
  EXPECT(hm.recall > 0.0 && hm.recall <= 1.0 && hm.coverage > 0.0 && hm.coverage < 1.0, "recall %g coverage %g",
         hm.recall, hm.coverage);
  hm.mask = NULL;
  EXPECT_STATUS(mmi_heatmaps(&sq_t, &sk_t, index, which, 1, &hopts, &hm, NULL), MMI_INVALID_ARGUMENT);
  mmi_index_destroy(index);
  free(sq);
  free(sk);
  free(sv);

  free(q);
  free(k);
  free(v);
  free(out);
  free(ref);
  printf("%s: %d failed checks\n", failures ? "FAIL" : "ok", failures);
  return failures ? 1 : 0;
}
