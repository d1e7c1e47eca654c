// Host side of the attention kernels: validation, the device copy of an index, and the choice of kernel family.
#include "mmi/cuda/attention.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <numeric>
#include <string>

#include "attention_launch.hpp"

namespace mmi::cuda {

void validate(const AttentionShape& shape) {
  if (shape.n <= 0) throw Error("attention: N must be positive, got " + std::to_string(shape.n));
  if (shape.n > INT32_MAX - 2) throw Error("attention: N must stay below 2^31 (positions are int32)");
  if (shape.heads_q <= 0 || shape.heads_kv <= 0) throw Error("attention: head counts must be positive");
  if (shape.heads_q % shape.heads_kv != 0) {
    throw Error("attention: query heads (" + std::to_string(shape.heads_q) + ") must be a multiple of kv heads (" +
                std::to_string(shape.heads_kv) + ")");
  }
  if (shape.head_dim != 64 && shape.head_dim != 80 && shape.head_dim != 128) {
    throw Error("attention: head dim must be 64, 80 or 128, got " + std::to_string(shape.head_dim));
  }
  if (shape.dtype != DType::bf16 && shape.dtype != DType::f16) throw Error("attention: dtype must be bf16 or f16");
  if (!(shape.scale >= 0.0f) || std::isinf(shape.scale)) throw Error("attention: scale must be finite and >= 0");
}

namespace {

void validate_tensors(const AttentionTensors& t) {
  if (!t.q || !t.k || !t.v || !t.o) throw Error("attention: q, k, v and o must all be device pointers");
}

bool hopper_device() {
  int device = 0;
  MMI_CUDA_CHECK(cudaGetDevice(&device));
  int major = 0;
  MMI_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  return major == 9;
}

void run(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView* index, Stream stream,
         const KernelOptions& options) {
  validate(shape);
  validate_tensors(t);
  const Backend b = resolve_backend(shape, options.backend);
  const detail::AttentionParams p = detail::make_params(shape, t, index);
  auto* s = reinterpret_cast<cudaStream_t>(stream);
  if (b == Backend::Hopper) {
    detail::launch_sm90(p, shape.dtype, shape.head_dim, index != nullptr, detail::Sm90Options{options.pingpong, options.tma}, s);
  } else {
    detail::launch_sm80(p, shape.dtype, shape.head_dim, index != nullptr, s);
  }
}

}  // namespace

Backend resolve_backend(const AttentionShape& shape, Backend requested) {
  const bool hopper_ok = hopper_device() && (shape.head_dim == 64 || shape.head_dim == 128);
  if (requested == Backend::Hopper && !hopper_ok) {
    throw Error("attention: the Hopper kernel needs an sm_90 GPU and head dim 64 or 128", ErrorKind::Device);
  }
  if (requested == Backend::Auto) return hopper_ok ? Backend::Hopper : Backend::Portable;
  return requested;
}

std::string backend_name(Backend backend) {
  switch (backend) {
    case Backend::Hopper:
      return "hopper-wgmma";
    case Backend::Portable:
      return "portable-mma";
    default:
      return "auto";
  }
}

void attention_dense_causal(const AttentionShape& shape, const AttentionTensors& t, Stream stream,
                            const KernelOptions& options) {
  run(shape, t, nullptr, stream, options);
}

void attention_sparse(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView& index,
                      Stream stream, const KernelOptions& options) {
  if (index.n != shape.n || index.heads != shape.heads_q) {
    throw Error("attention: the index covers N=" + std::to_string(index.n) + " and " + std::to_string(index.heads) +
                " heads, the problem N=" + std::to_string(shape.n) + " and " + std::to_string(shape.heads_q));
  }
  if (!index.block_offsets || !index.column_offsets) throw Error("attention: the index has no offsets");
  run(shape, t, &index, stream, options);
}

namespace detail {

void launch_sm90(const AttentionParams& p, DType dtype, int head_dim, bool sparse, const Sm90Options& options,
                 cudaStream_t stream) {
  if (dtype == DType::bf16) {
    launch_sm90_bf16(p, head_dim, sparse, options, stream);
  } else {
    launch_sm90_f16(p, head_dim, sparse, options, stream);
  }
}

AttentionParams make_params(const AttentionShape& shape, const AttentionTensors& t, const DeviceIndexView* index) {
  AttentionParams p{};
  p.q = t.q;
  p.k = t.k;
  p.v = t.v;
  p.o = t.o;
  p.n = shape.n;
  p.heads_q = shape.heads_q;
  p.group = shape.heads_q / shape.heads_kv;
  const float scale = shape.scale > 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  p.scale_log2 = scale * 1.4426950408889634f;
  p.nb = num_blocks(shape.n);
  if (index) {
    p.block_offsets = index->block_offsets;
    p.block_ids = index->block_ids;
    p.column_offsets = index->column_offsets;
    p.column_ids = index->column_ids;
    p.row_perm = index->row_perm;
    p.col_perm = index->col_perm;
  }
  return p;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------------
// DeviceIndex

namespace {

void check_permutation(const std::vector<int32_t>& perm, int64_t n, int32_t head, const char* what) {
  if (perm.empty()) return;
  if (static_cast<int64_t>(perm.size()) != n) {
    throw Error(std::string("index head ") + std::to_string(head) + ": " + what + " has " +
                std::to_string(perm.size()) + " entries, expected " + std::to_string(n));
  }
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (const int32_t v : perm) {
    if (v < 0 || v >= n || seen[static_cast<size_t>(v)]) {
      throw Error(std::string("index head ") + std::to_string(head) + ": " + what + " is not a permutation");
    }
    seen[static_cast<size_t>(v)] = 1;
  }
}

template <typename Id>
void check_lists(const std::vector<int64_t>& offsets, const std::vector<Id>& ids, int64_t nb, int64_t limit,
                 int32_t head, const char* what) {
  if (static_cast<int64_t>(offsets.size()) != nb + 1 || offsets.front() != 0 ||
      offsets.back() != static_cast<int64_t>(ids.size())) {
    throw Error(std::string("index head ") + std::to_string(head) + ": malformed " + what + " offsets");
  }
  for (int64_t i = 0; i < nb; ++i) {
    if (offsets[i + 1] < offsets[i]) {
      throw Error(std::string("index head ") + std::to_string(head) + ": " + what + " offsets decrease");
    }
    for (int64_t e = offsets[i]; e < offsets[i + 1]; ++e) {
      if (ids[e] < 0 || ids[e] >= limit || (e > offsets[i] && ids[e] <= ids[e - 1])) {
        throw Error(std::string("index head ") + std::to_string(head) + ", query block " + std::to_string(i) + ": " +
                    what + " out of range or not strictly ascending");
      }
    }
  }
}

}  // namespace

DeviceIndex::DeviceIndex(int64_t n, int32_t heads, Stream stream) : n_(n), heads_(heads) {
  if (n <= 0 || heads <= 0) throw Error("index: N and heads must be positive");
  const auto entries = static_cast<size_t>(heads * num_blocks(n) + 1);
  block_offsets = DeviceBuffer<int64_t>(entries);
  column_offsets = DeviceBuffer<int64_t>(entries);
  auto* s = reinterpret_cast<cudaStream_t>(stream);
  MMI_CUDA_CHECK(cudaMemsetAsync(block_offsets.get(), 0, block_offsets.bytes(), s));
  MMI_CUDA_CHECK(cudaMemsetAsync(column_offsets.get(), 0, column_offsets.bytes(), s));
}

DeviceIndex DeviceIndex::upload(const std::vector<SparseIndex>& heads) {
  if (heads.empty()) throw Error("index: no heads");
  const int64_t n = heads.front().n;
  if (n <= 0) throw Error("index: N must be positive");
  const int64_t nb = num_blocks(n);
  bool any_row_perm = false, any_col_perm = false;
  int64_t total_blocks = 0, total_columns = 0;
  for (size_t h = 0; h < heads.size(); ++h) {
    const SparseIndex& x = heads[h];
    const auto hh = static_cast<int32_t>(h);
    if (x.n != n) throw Error("index: heads disagree on N");
    check_lists(x.block_offsets, x.block_ids, nb, nb, hh, "block");
    check_lists(x.column_offsets, x.column_ids, nb, n, hh, "column");
    check_permutation(x.row_perm, n, hh, "row permutation");
    check_permutation(x.col_perm, n, hh, "column permutation");
    any_row_perm |= !x.row_perm.empty();
    any_col_perm |= !x.col_perm.empty();
    total_blocks += static_cast<int64_t>(x.block_ids.size());
    total_columns += static_cast<int64_t>(x.column_ids.size());
  }
  const auto H = static_cast<int64_t>(heads.size());
  std::vector<int64_t> boff(static_cast<size_t>(H * nb + 1)), coff(static_cast<size_t>(H * nb + 1));
  std::vector<int32_t> bids, cids, rperm, cperm;
  bids.reserve(static_cast<size_t>(total_blocks));
  cids.reserve(static_cast<size_t>(total_columns));
  for (int64_t h = 0; h < H; ++h) {
    const SparseIndex& x = heads[static_cast<size_t>(h)];
    const auto bbase = static_cast<int64_t>(bids.size());
    const auto cbase = static_cast<int64_t>(cids.size());
    for (int64_t i = 0; i < nb; ++i) {
      boff[static_cast<size_t>(h * nb + i)] = bbase + x.block_offsets[static_cast<size_t>(i)];
      coff[static_cast<size_t>(h * nb + i)] = cbase + x.column_offsets[static_cast<size_t>(i)];
    }
    bids.insert(bids.end(), x.block_ids.begin(), x.block_ids.end());
    cids.insert(cids.end(), x.column_ids.begin(), x.column_ids.end());
    auto append_perm = [n](std::vector<int32_t>& dst, const std::vector<int32_t>& src) {
      if (src.empty()) {
        const size_t at = dst.size();
        dst.resize(at + static_cast<size_t>(n));
        std::iota(dst.begin() + static_cast<std::ptrdiff_t>(at), dst.end(), 0);
      } else {
        dst.insert(dst.end(), src.begin(), src.end());
      }
    };
    if (any_row_perm) append_perm(rperm, x.row_perm);
    if (any_col_perm) append_perm(cperm, x.col_perm);
  }
  boff.back() = static_cast<int64_t>(bids.size());
  coff.back() = static_cast<int64_t>(cids.size());

  DeviceIndex d;
  d.n_ = n;
  d.heads_ = static_cast<int32_t>(H);
  d.block_offsets = DeviceBuffer<int64_t>(boff);
  d.column_offsets = DeviceBuffer<int64_t>(coff);
  d.block_ids = DeviceBuffer<int32_t>(bids);
  d.column_ids = DeviceBuffer<int32_t>(cids);
  d.row_perm = DeviceBuffer<int32_t>(rperm);
  d.col_perm = DeviceBuffer<int32_t>(cperm);
  return d;
}

std::vector<SparseIndex> DeviceIndex::download() const {
  std::vector<SparseIndex> out;
  out.reserve(static_cast<size_t>(heads_));
  for (int32_t h = 0; h < heads_; ++h) out.push_back(download_head(h));
  return out;
}

SparseIndex DeviceIndex::download_head(int32_t head) const {
  if (head < 0 || head >= heads_) throw Error("index: head out of range");
  const int64_t nb = num_blocks(n_);
  SparseIndex x;
  x.n = n_;
  auto lists = [&](const DeviceBuffer<int64_t>& offsets, const DeviceBuffer<int32_t>& ids, std::vector<int64_t>& off,
                   std::vector<int32_t>& out) {
    off.resize(static_cast<size_t>(nb + 1));
    copy_to_host(off.data(), offsets.get() + head * nb, off.size() * sizeof(int64_t));
    const int64_t base = off.front();
    for (auto& o : off) o -= base;
    out.resize(static_cast<size_t>(off.back()));
    if (!out.empty()) copy_to_host(out.data(), ids.get() + base, out.size() * sizeof(int32_t));
  };
  lists(block_offsets, block_ids, x.block_offsets, x.block_ids);
  lists(column_offsets, column_ids, x.column_offsets, x.column_ids);
  auto perm = [&](const DeviceBuffer<int32_t>& src, std::vector<int32_t>& dst) {
    if (src.size() == 0) return;
    dst.resize(static_cast<size_t>(n_));
    copy_to_host(dst.data(), src.get() + static_cast<int64_t>(head) * n_, dst.size() * sizeof(int32_t));
  };
  perm(row_perm, x.row_perm);
  perm(col_perm, x.col_perm);
  return x;
}

DeviceIndexView DeviceIndex::view() const {
  DeviceIndexView v;
  v.n = n_;
  v.heads = heads_;
  v.block_offsets = block_offsets.get();
  v.block_ids = block_ids.get();
  v.column_offsets = column_offsets.get();
  v.column_ids = column_ids.get();
  v.row_perm = row_perm.size() ? row_perm.get() : nullptr;
  v.col_perm = col_perm.size() ? col_perm.get() : nullptr;
  return v;
}

int64_t DeviceIndex::total_blocks() const {
  if (block_offsets.size() == 0) return 0;
  int64_t last = 0;
  copy_to_host(&last, block_offsets.get() + block_offsets.size() - 1, sizeof(last));
  return last;
}

int64_t DeviceIndex::total_columns() const {
  if (column_offsets.size() == 0) return 0;
  int64_t last = 0;
  copy_to_host(&last, column_offsets.get() + column_offsets.size() - 1, sizeof(last));
  return last;
}

}  // namespace mmi::cuda
