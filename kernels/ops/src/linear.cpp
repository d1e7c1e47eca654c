#include "mmi/ops/linear.hpp"

#include <algorithm>
#include <vector>

#include "mmi/ops/thread_pool.hpp"

namespace mmi::ops {

namespace {

constexpr std::int64_t kMR = 6;    // rows of A per micro-kernel
constexpr std::int64_t kNR = 16;   // columns of C per micro-kernel (one packed panel of W)
constexpr std::int64_t kNC = 128;  // columns of C per task
constexpr std::int64_t kKC = 256;  // depth per packed block
constexpr std::int64_t kMC = 192;  // rows of A per task

// Packs W rows [j0, j0+nc) and columns [k0, k0+kc) into panels of kNR columns: panel p holds
// bp[p*kc*kNR + k*kNR + r] = W[j0 + p*kNR + r][k0 + k], zero past the last row.
void pack_w(const MatrixView& w, std::int64_t j0, std::int64_t nc, std::int64_t k0, std::int64_t kc, float* bp,
            float* row) {
  const std::int64_t panels = (nc + kNR - 1) / kNR;
  for (std::int64_t p = 0; p < panels; ++p) {
    float* dst = bp + p * kc * kNR;
    for (std::int64_t r = 0; r < kNR; ++r) {
      const std::int64_t j = j0 + p * kNR + r;
      if (j < j0 + nc) {
        load_row(w, j, k0, kc, row);
        for (std::int64_t k = 0; k < kc; ++k) dst[k * kNR + r] = row[k];
      } else {
        for (std::int64_t k = 0; k < kc; ++k) dst[k * kNR + r] = 0.0f;
      }
    }
  }
}

// 8 floats: lowered to one AVX register in the x86-64-v3 clones, two SSE registers otherwise.
typedef float v8 __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MMI_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MMI_CLONES
#endif

// acc[MR][kNR] = A[MR rows, kc] · panel[kc][kNR]; accumulators stay in registers (MR × 2 vectors).
template <int MR>
MMI_CLONES void micro_kernel(std::int64_t kc, const float* a, std::int64_t lda, const float* bp, float* acc) {
  v8 c0[MR], c1[MR];
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = v8{};
  for (std::int64_t k = 0; k < kc; ++k) {
    v8 b0, b1;
    __builtin_memcpy(&b0, bp + k * kNR, sizeof b0);
    __builtin_memcpy(&b1, bp + k * kNR + 8, sizeof b1);
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i * lda + k];
      c0[i] += ai * b0;
      c1[i] += ai * b1;
    }
  }
  for (int i = 0; i < MR; ++i) {
    __builtin_memcpy(acc + i * kNR, &c0[i], sizeof(v8));
    __builtin_memcpy(acc + i * kNR + 8, &c1[i], sizeof(v8));
  }
}

void store(const float* acc, std::int64_t rows, std::int64_t cols, float* c, std::int64_t ldc, bool add) {
  for (std::int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    const float* ai = acc + i * kNR;
    if (add) {
      for (std::int64_t r = 0; r < cols; ++r) ci[r] += ai[r];
    } else {
      for (std::int64_t r = 0; r < cols; ++r) ci[r] = ai[r];
    }
  }
}

// One task: C rows [i0, i0+mc), columns [j0, j0+nc).
void block(const float* a, std::int64_t lda, std::int64_t i0, std::int64_t mc, const MatrixView& w, std::int64_t j0,
           std::int64_t nc, const float* bias, float* c, std::int64_t ldc, bool accumulate) {
  const std::int64_t k_total = w.cols;
  const std::int64_t panels = (nc + kNR - 1) / kNR;
  std::vector<float> bp(static_cast<std::size_t>(panels * kKC * kNR));
  std::vector<float> row(static_cast<std::size_t>(kKC));
  float acc[kMR * kNR];
  for (std::int64_t i = i0; i < i0 + mc; ++i) {
    float* ci = c + i * ldc + j0;
    for (std::int64_t j = 0; j < nc; ++j) ci[j] = (accumulate ? ci[j] : 0.0f) + (bias ? bias[j0 + j] : 0.0f);
  }
  for (std::int64_t k0 = 0; k0 < k_total; k0 += kKC) {
    const std::int64_t kc = std::min(kKC, k_total - k0);
    pack_w(w, j0, nc, k0, kc, bp.data(), row.data());
    for (std::int64_t i = i0; i < i0 + mc; i += kMR) {
      const std::int64_t mr = std::min(kMR, i0 + mc - i);
      const float* ai = a + i * lda + k0;
      for (std::int64_t p = 0; p < panels; ++p) {
        const float* bpp = bp.data() + p * kc * kNR;
        switch (mr) {
          case 6: micro_kernel<6>(kc, ai, lda, bpp, acc); break;
          case 5: micro_kernel<5>(kc, ai, lda, bpp, acc); break;
          case 4: micro_kernel<4>(kc, ai, lda, bpp, acc); break;
          case 3: micro_kernel<3>(kc, ai, lda, bpp, acc); break;
          case 2: micro_kernel<2>(kc, ai, lda, bpp, acc); break;
          default: micro_kernel<1>(kc, ai, lda, bpp, acc); break;
        }
        const std::int64_t cols = std::min(kNR, nc - p * kNR);
        store(acc, mr, cols, c + i * ldc + j0 + p * kNR, ldc, true);
      }
    }
  }
}

// Σ a[k]·b[k] in 8 partial sums.
MMI_CLONES float dot(const float* a, const float* b, std::int64_t n) {
  v8 acc{};
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    v8 x, y;
    __builtin_memcpy(&x, a + k, sizeof x);
    __builtin_memcpy(&y, b + k, sizeof y);
    acc += x * y;
  }
  float s = 0.0f;
  for (int i = 0; i < 8; ++i) s += acc[i];
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

// Few rows (decode): one pass over W, a dot product per output.
void rows_dot(const float* a, std::int64_t lda, std::int64_t m, const MatrixView& w, std::int64_t j0, std::int64_t nc,
              const float* bias, float* c, std::int64_t ldc, bool accumulate) {
  std::vector<float> row(static_cast<std::size_t>(w.cols));
  for (std::int64_t j = j0; j < j0 + nc; ++j) {
    load_row(w, j, 0, w.cols, row.data());
    for (std::int64_t i = 0; i < m; ++i) {
      const float s = dot(a + i * lda, row.data(), w.cols);
      float& out = c[i * ldc + j];
      out = (accumulate ? out : 0.0f) + s + (bias ? bias[j] : 0.0f);
    }
  }
}

}  // namespace

void linear(const float* a, std::int64_t lda, std::int64_t m, const MatrixView& w, const float* bias, float* c,
            std::int64_t ldc, bool accumulate, ThreadPool* pool) {
  const std::int64_t n = w.rows;
  if (m <= 0 || n <= 0) return;
  if (m <= 2) {
    const std::int64_t chunk = 64;
    const std::int64_t tasks = (n + chunk - 1) / chunk;
    auto task = [&](std::int64_t t) {
      const std::int64_t j0 = t * chunk;
      rows_dot(a, lda, m, w, j0, std::min(chunk, n - j0), bias, c, ldc, accumulate);
    };
    if (pool) {
      pool->parallel_for(tasks, task);
    } else {
      for (std::int64_t t = 0; t < tasks; ++t) task(t);
    }
    return;
  }
  const std::int64_t nb = (n + kNC - 1) / kNC;
  const std::int64_t mb = (m + kMC - 1) / kMC;
  auto task = [&](std::int64_t t) {
    const std::int64_t jb = t % nb;
    const std::int64_t ib = t / nb;
    const std::int64_t j0 = jb * kNC;
    const std::int64_t i0 = ib * kMC;
    block(a, lda, i0, std::min(kMC, m - i0), w, j0, std::min(kNC, n - j0), bias, c, ldc, accumulate);
  };
  if (pool) {
    pool->parallel_for(nb * mb, task);
  } else {
    for (std::int64_t t = 0; t < nb * mb; ++t) task(t);
  }
}

}  // namespace mmi::ops
