// Online pattern estimation on the GPU (MInference's last-query estimate), for the per-head sparse pre-fill until
// the attention core's own GPU estimator lands: the attention mass that the last rows of a prompt give each key
// column and each diagonal, and the top-k choice of columns / diagonals. The selection rules are those of the CPU
// core (kernels/cpu/src/vertical_slash.cpp): the first columns and nearest diagonals forced, ties to the lower
// index, results ascending.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace mmi::ops::cuda {

using bf16 = __nv_bfloat16;

// For query heads heads[i] (device array), rows [row_begin, row_end) (at most 64; a row's position is its index)
// take the causal softmax over keys [0, row] (fp32), and add each row's weights over keys [key_begin, key_end):
// column[i][key - key_begin] += w and diagonal[i][row - key] += w (offsets below diag_len). Rows of q and keys of
// k are strided as in FlashParams; query head h reads kv head h / group.
struct MassParams {
  const bf16* q = nullptr;
  std::int64_t q_row = 0, q_head = 0;
  const bf16* k = nullptr;
  std::int64_t k_row = 0, k_head = 0;
  int head_dim = 0;  // multiple of 8, at most 128
  int group = 1;
  const std::int32_t* heads = nullptr;
  int count = 0;
  std::int64_t row_begin = 0, row_end = 0;
  std::int64_t key_begin = 0, key_end = 0;
  float scale = 0.0f;
  float* column = nullptr;    // [count][key_end - key_begin], or null
  float* diagonal = nullptr;  // [count][diag_len], or null
  std::int64_t diag_len = 0;
};

std::size_t mass_workspace_bytes(int count, std::int64_t row_end);
void attention_mass(const MassParams& p, void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

// For each of rows rows of scores ([rows][len], device): the indices of the k largest, where the first `forced`
// indices count as the largest of all and k is raised to min(forced, len) and capped at len; ties go to the lower
// index. Written ascending to out[row][0..k), the rest of the row (out_width wide) set to -1.
void top_k_ascending(const float* scores, int rows, std::int64_t len, std::int64_t forced, std::int64_t k,
                     std::int32_t* out, std::int64_t out_width, cudaStream_t stream);

}  // namespace mmi::ops::cuda
