// Element-wise and row-wise model ops on the GPU; see include/mmi/ops/cuda/ops.hpp.
#include <cfloat>

#include "mmi/ops/cuda/ops.hpp"
#include "mmi/runtime/cuda/device.hpp"

namespace mmi::ops::cuda {

namespace {

constexpr int kThreads = 256;

int blocks_for(std::int64_t n, int per_block = kThreads) {
  const std::int64_t b = (n + per_block - 1) / per_block;
  return static_cast<int>(b < 65535 * 32 ? b : 65535 * 32);
}

// Sum over the block (every thread gets the total). shared: kThreads / 32 floats.
__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) total += shared[w];
  __syncthreads();
  return total;
}

__global__ void embedding_kernel(const bf16* table, const std::int32_t* ids, std::int64_t dim, float* out,
                                 std::int64_t ld_out) {
  const std::int64_t row = blockIdx.x;
  const bf16* src = table + static_cast<std::int64_t>(ids[row]) * dim;
  for (std::int64_t c = threadIdx.x; c < dim; c += blockDim.x) out[row * ld_out + c] = __bfloat162float(src[c]);
}

__global__ void rms_norm_kernel(const float* x, std::int64_t ldx, std::int64_t dim, const float* weight, float eps,
                                bf16* out, std::int64_t ld_out) {
  __shared__ float shared[kThreads / 32];
  const float* xr = x + blockIdx.x * ldx;
  float ss = 0.0f;
  for (std::int64_t c = threadIdx.x; c < dim; c += blockDim.x) ss += xr[c] * xr[c];
  const float total = block_sum(ss, shared);
  const float inv = static_cast<float>(1.0 / sqrt(static_cast<double>(total) / static_cast<double>(dim) + eps));
  bf16* o = out + blockIdx.x * ld_out;
  for (std::int64_t c = threadIdx.x; c < dim; c += blockDim.x) o[c] = __float2bfloat16(weight[c] * (xr[c] * inv));
}

__global__ void add_bias_kernel(float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* bias) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / cols, c = i % cols;
    x[r * ld + c] += bias[c];
  }
}

// One block per row: the row's angles once in shared memory, then every head of q, k (rotated) and v.
__global__ void rope_split_kernel(QkvSplit p) {
  extern __shared__ float angles[];  // cos[half], sin[half]
  const std::int64_t i = blockIdx.x;
  const int half = p.head_dim / 2;
  const std::int64_t pi = p.pos_period > 0 ? i % p.pos_period : i;
  for (int j = threadIdx.x; j < half; j += blockDim.x) {
    const float a = static_cast<float>(p.pos[p.select[j] * p.pos_stride + pi]) * p.freq[j];
    angles[j] = static_cast<float>(cos(static_cast<double>(a)));
    angles[half + j] = static_cast<float>(sin(static_cast<double>(a)));
  }
  __syncthreads();
  const float* row = p.qkv + i * p.ld;
  const int heads = p.hq + 2 * p.hkv;
  const int pairs = heads * half;
  for (int e = threadIdx.x; e < pairs; e += blockDim.x) {
    const int h = e / half, j = e % half;
    const int col = h * p.head_dim + j;
    float a = row[col], b = row[col + half];
    if (p.bias) {
      a += p.bias[col];
      b += p.bias[col + half];
    }
    bf16* dst;
    if (h < p.hq) {
      dst = p.q + i * p.q_row + static_cast<std::int64_t>(h) * p.q_head;
    } else if (h < p.hq + p.hkv) {
      dst = p.k + i * p.k_row + static_cast<std::int64_t>(h - p.hq) * p.k_head;
    } else {
      dst = p.v + i * p.v_row + static_cast<std::int64_t>(h - p.hq - p.hkv) * p.v_head;
      dst[j] = __float2bfloat16(a);
      dst[j + half] = __float2bfloat16(b);
      continue;
    }
    const float c = angles[j], s = angles[half + j];
    dst[j] = __float2bfloat16(a * c - b * s);
    dst[j + half] = __float2bfloat16(b * c + a * s);
  }
}

template <bool F32>
__global__ void silu_mul_kernel(const void* gate_up, std::int64_t ld, std::int64_t rows, std::int64_t inter,
                                const float* bias, bf16* out, std::int64_t ld_out) {
  const std::int64_t total = rows * inter;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = e / inter, j = e % inter;
    float g, u;
    if constexpr (F32) {
      const float* row = static_cast<const float*>(gate_up) + r * ld;
      g = row[j];
      u = row[inter + j];
    } else {
      const bf16* row = static_cast<const bf16*>(gate_up) + r * ld;
      g = __bfloat162float(row[j]);
      u = __bfloat162float(row[inter + j]);
    }
    if (bias) {
      g += bias[j];
      u += bias[inter + j];
    }
    out[r * ld_out + j] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
  }
}

__global__ void gelu_bias_kernel(const float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols,
                                 const float* bias, bf16* out, std::int64_t ld_out) {
  const std::int64_t total = rows * cols;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = e / cols, c = e % cols;
    const float v = x[r * ld + c] + (bias ? bias[c] : 0.0f);
    out[r * ld_out + c] = __float2bfloat16(0.5f * v * (1.0f + erff(v * 0.70710678118654752440f)));
  }
}

__global__ void to_bf16_kernel(const float* x, std::int64_t n, bf16* out) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[e] = __float2bfloat16(x[e]);
  }
}

__global__ void copy_rows_kernel(const float* src, std::int64_t ld_src, const std::int64_t* src_index, float* dst,
                                 std::int64_t ld_dst, const std::int64_t* dst_index, std::int64_t cols,
                                 const float* bias) {
  const std::int64_t r = blockIdx.x;
  const float* s = src + (src_index ? src_index[r] : r) * ld_src;
  float* d = dst + (dst_index ? dst_index[r] : r) * ld_dst;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c] + (bias ? bias[c] : 0.0f);
}

__global__ void heads_to_rows_kernel(const bf16* in, std::int64_t head_stride, int heads, int head_dim,
                                     std::int64_t r0, bf16* out, std::int64_t ld_out) {
  const std::int64_t i = blockIdx.x;
  const int width = heads * head_dim;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const int h = c / head_dim, d = c % head_dim;
    out[i * ld_out + c] = in[static_cast<std::int64_t>(h) * head_stride + (r0 + i) * head_dim + d];
  }
}

__global__ void argmax_kernel(const float* x, std::int64_t n, std::int32_t* out) {
  __shared__ float best_v[kThreads];
  __shared__ std::int64_t best_i[kThreads];
  // Each thread walks increasing indices and keeps the first of equals; the tree keeps the lower index on ties.
  float bv = -FLT_MAX;
  std::int64_t bi = -1;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (bi < 0 || x[i] > bv) {
      bv = x[i];
      bi = i;
    }
  }
  best_v[threadIdx.x] = bv;
  best_i[threadIdx.x] = bi;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const float ov = best_v[threadIdx.x + s], mv = best_v[threadIdx.x];
      const std::int64_t oi = best_i[threadIdx.x + s], mi = best_i[threadIdx.x];
      if (oi >= 0 && (mi < 0 || ov > mv || (ov == mv && oi < mi))) {
        best_v[threadIdx.x] = ov;
        best_i[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = static_cast<std::int32_t>(best_i[0]);
}

}  // namespace

void embedding(const bf16* table, const std::int32_t* ids, std::int64_t n, std::int64_t dim, float* out,
               std::int64_t ld_out, cudaStream_t stream) {
  if (n == 0) return;
  embedding_kernel<<<static_cast<unsigned>(n), kThreads, 0, stream>>>(table, ids, dim, out, ld_out);
  MMI_GPU_CHECK_LAUNCH("embedding");
}

void rms_norm(const float* x, std::int64_t ldx, std::int64_t rows, std::int64_t dim, const float* weight, float eps,
              bf16* out, std::int64_t ld_out, cudaStream_t stream) {
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, ldx, dim, weight, eps, out, ld_out);
  MMI_GPU_CHECK_LAUNCH("rms_norm");
}

void add_bias(float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* bias, cudaStream_t stream) {
  if (rows == 0) return;
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, stream>>>(x, ld, rows, cols, bias);
  MMI_GPU_CHECK_LAUNCH("add_bias");
}

void rope_split_qkv(const QkvSplit& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  const std::size_t shared = sizeof(float) * static_cast<std::size_t>(p.head_dim);
  rope_split_kernel<<<static_cast<unsigned>(p.rows), 128, shared, stream>>>(p);
  MMI_GPU_CHECK_LAUNCH("rope_split_qkv");
}

void silu_mul(const void* gate_up, bool gate_up_f32, std::int64_t ld, std::int64_t rows, std::int64_t inter,
              const float* bias, bf16* out, std::int64_t ld_out, cudaStream_t stream) {
  if (rows == 0) return;
  if (gate_up_f32) {
    silu_mul_kernel<true><<<blocks_for(rows * inter), kThreads, 0, stream>>>(gate_up, ld, rows, inter, bias, out, ld_out);
  } else {
    silu_mul_kernel<false><<<blocks_for(rows * inter), kThreads, 0, stream>>>(gate_up, ld, rows, inter, bias, out, ld_out);
  }
  MMI_GPU_CHECK_LAUNCH("silu_mul");
}

void gelu_bias(const float* x, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* bias, bf16* out,
               std::int64_t ld_out, cudaStream_t stream) {
  if (rows == 0) return;
  gelu_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, stream>>>(x, ld, rows, cols, bias, out, ld_out);
  MMI_GPU_CHECK_LAUNCH("gelu_bias");
}

void to_bf16(const float* x, std::int64_t n, bf16* out, cudaStream_t stream) {
  if (n == 0) return;
  to_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, n, out);
  MMI_GPU_CHECK_LAUNCH("to_bf16");
}

void copy_rows(const float* src, std::int64_t ld_src, const std::int64_t* src_index, float* dst, std::int64_t ld_dst,
               const std::int64_t* dst_index, std::int64_t rows, std::int64_t cols, const float* bias,
               cudaStream_t stream) {
  if (rows == 0) return;
  copy_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(src, ld_src, src_index, dst, ld_dst, dst_index,
                                                                         cols, bias);
  MMI_GPU_CHECK_LAUNCH("copy_rows");
}

void heads_to_rows(const bf16* in, std::int64_t head_stride, int heads, int head_dim, std::int64_t r0,
                   std::int64_t rows, bf16* out, std::int64_t ld_out, cudaStream_t stream) {
  if (rows == 0) return;
  heads_to_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(in, head_stride, heads, head_dim, r0, out,
                                                                              ld_out);
  MMI_GPU_CHECK_LAUNCH("heads_to_rows");
}

void argmax(const float* x, std::int64_t n, std::int32_t* out, cudaStream_t stream) {
  argmax_kernel<<<1, kThreads, 0, stream>>>(x, n, out);
  MMI_GPU_CHECK_LAUNCH("argmax");
}

}  // namespace mmi::ops::cuda
