// The CUDA attention kernels behind one C++ interface (docs/algorithm.md §2-3): dense causal flash attention and the
// one sparse kernel that computes every pattern from a SparseIndex, with the row/column permutations fused into its
// loads and stores. Layout (issue 3): q [Hq, N, D], k/v [Hkv, N, D], o [Hq, N, D], contiguous, query head h reads
// kv head h / (Hq / Hkv). Softmax state and accumulation in fp32. All offsets are 64-bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mmi/cuda/runtime.hpp"
#include "mmi/sparse_index.hpp"

namespace mmi::cuda {

enum class DType : int32_t { bf16 = 0, f16 = 1 };

struct AttentionShape {
  int64_t n = 0;         // tokens (queries = keys: pre-fill)
  int32_t heads_q = 0;   // query heads
  int32_t heads_kv = 0;  // key/value heads; heads_q % heads_kv == 0
  int32_t head_dim = 0;  // 64, 80 or 128
  DType dtype = DType::bf16;
  float scale = 0.0f;  // softmax scale; 0 means 1/sqrt(head_dim)
};

// Device pointers (not owned).
struct AttentionTensors {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
};

// Which kernel family runs. Auto picks the Hopper kernel (wgmma, sm_90a) where it applies (sm_90, head dim 64 or
// 128) and the portable tensor-core kernel (mma.sync, sm_80+) otherwise.
enum class Backend : int32_t { Auto = 0, Hopper = 1, Portable = 2 };

struct KernelOptions {
  Backend backend = Backend::Auto;
  bool pingpong = true;  // Hopper: the two consumer warpgroups take turns issuing matrix products
  bool tma = true;       // Hopper, dense: tiles loaded by the bulk tensor copy engine rather than cp.async
};

// A layer's sparse index on the device, all query heads: CSR flattened over (head, query block). Head h, query
// block i owns block_ids[block_offsets[h*nb+i] .. block_offsets[h*nb+i+1]) and likewise for columns, where
// nb = num_blocks(n). Permutations are per query head ([heads, n]) or absent (nullptr: identity).
struct DeviceIndexView {
  int64_t n = 0;
  int32_t heads = 0;
  const int64_t* block_offsets = nullptr;   // heads*nb + 1
  const int32_t* block_ids = nullptr;       // key block numbers in kernel order, ascending per query block
  const int64_t* column_offsets = nullptr;  // heads*nb + 1
  const int32_t* column_ids = nullptr;      // key positions in kernel order, ascending, none inside a listed block
  const int32_t* row_perm = nullptr;        // kernel row -> original token, [heads, n]
  const int32_t* col_perm = nullptr;        // kernel key -> original token, [heads, n]
};

// Owning device copy of a layer's index, built on the GPU (estimation) or uploaded from per-head host indices.
class DeviceIndex {
 public:
  DeviceIndex() = default;
  DeviceIndex(int64_t n, int32_t heads, Stream stream = nullptr);  // empty lists (zeroed on `stream`), no permutations

  static DeviceIndex upload(const std::vector<SparseIndex>& heads);
  std::vector<SparseIndex> download() const;
  SparseIndex download_head(int32_t head) const;

  DeviceIndexView view() const;
  int64_t n() const { return n_; }
  int32_t heads() const { return heads_; }
  int64_t total_blocks() const;   // entries of block_ids over all heads
  int64_t total_columns() const;  // entries of column_ids over all heads

  // Storage, for the builders.
  DeviceBuffer<int64_t> block_offsets, column_offsets;
  DeviceBuffer<int32_t> block_ids, column_ids, row_perm, col_perm;

 private:
  int64_t n_ = 0;
  int32_t heads_ = 0;
};

// Dense causal attention. Throws Error on bad shapes or CUDA failures; the launch is asynchronous on `stream`.
void attention_dense_causal(const AttentionShape& shape, const AttentionTensors& t, Stream stream = nullptr,
                            const KernelOptions& options = {});

// Sparse causal attention over `index` (index.heads == shape.heads_q, index.n == shape.n): each row attends to the
// keys its query block lists, restricted to original positions not after its own. Rows that keep no key get 0.
void attention_sparse(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView& index,
                      Stream stream = nullptr, const KernelOptions& options = {});

// The backend Auto resolves to for a shape on the current device, and a short description for reports.
Backend resolve_backend(const AttentionShape& shape, Backend requested);
std::string backend_name(Backend backend);

// Throws Error describing the first problem with the shape (head dim, GQA ratio, sizes).
void validate(const AttentionShape& shape);

}  // namespace mmi::cuda
