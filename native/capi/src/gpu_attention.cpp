#include "gpu_attention.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "cancel.hpp"
#include "device.hpp"
#include "mmi/attention/error.hpp"
#include "mmi/attention/index.hpp"
#include "mmi/runtime/errors.hpp"

#ifdef MMI_HAVE_CUDA
#include "mmi/cuda/attention.hpp"
#include "mmi/cuda/heatmap.hpp"
#endif

namespace mmi::capi::gpu_attention {

namespace at = mmi::attention;
using runtime::Error;
using runtime::ErrorCode;

namespace {

struct Placement {
  bool gpu = false;
  bool named = false;  // the caller asked for the GPU
};

Placement place(const mmi_run_options* run, std::initializer_list<const at::HeadsView*> inputs) {
  const int32_t requested = run != nullptr ? run->device : MMI_DEVICE_AUTO;
  if (requested != MMI_DEVICE_AUTO && requested != MMI_DEVICE_CPU && requested != MMI_DEVICE_GPU) {
    throw Error(ErrorCode::InvalidInput, "", "device",
                "must be MMI_DEVICE_AUTO, MMI_DEVICE_CPU or MMI_DEVICE_GPU, got " + std::to_string(requested));
  }
  if (requested == MMI_DEVICE_CPU || (requested == MMI_DEVICE_AUTO && device_override() == "cpu")) return {};
  const bool named = requested == MMI_DEVICE_GPU;
#ifdef MMI_HAVE_CUDA
  const bool present = mmi::cuda::device_count() > 0;
#else
  const bool present = false;
#endif
  if (named && !present) throw Error(ErrorCode::DeviceUnavailable, "", "device", devices().detail);
  bool sixteen = true;
  for (const at::HeadsView* t : inputs) sixteen = sixteen && t->dtype != at::DType::f32;
  return {present && (named || sixteen), named};
}

// Under AUTO a call the GPU kernels do not take goes to the CPU; asked for by name, it is refused.
bool takes(const Placement& p, bool ok, const std::string& what) {
  if (!ok && p.named) throw Error(ErrorCode::InvalidInput, "", "device", "the GPU kernels take " + what);
  return ok;
}

void before(const mmi_run_options* run) {
  if (run != nullptr && run->cancel != nullptr && run->cancel->flag.load()) {
    throw at::Error(at::ErrorCode::Cancelled, "cancelled");
  }
}

void after(const mmi_run_options* run) {
  if (run != nullptr && run->progress != nullptr) run->progress(run->progress_user, 1, 1);
}

bool kernel_head_dim(int64_t dim) { return dim == 64 || dim == 80 || dim == 128; }

#ifdef MMI_HAVE_CUDA

namespace kc = mmi::cuda;

uint16_t bf16_bits(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);                      // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

// The GPU's element type for the operands: their own 16-bit type when they share one, else bf16.
kc::DType device_dtype(std::initializer_list<const at::HeadsView*> inputs) {
  const at::DType first = (*inputs.begin())->dtype;
  bool same = true;
  for (const at::HeadsView* t : inputs) same = same && t->dtype == first;
  return same && first == at::DType::f16 ? kc::DType::f16 : kc::DType::bf16;
}

// A contiguous operand (the C API's views are) on the device in `dtype`.
kc::DeviceBuffer<uint16_t> upload(const at::HeadsView& t, kc::DType dtype) {
  const auto count = static_cast<size_t>(t.heads * t.n * t.dim);
  const at::DType want = dtype == kc::DType::f16 ? at::DType::f16 : at::DType::bf16;
  if (t.dtype == want) {
    kc::DeviceBuffer<uint16_t> d(count);
    kc::copy_to_device(d.get(), t.data, count * sizeof(uint16_t));
    return d;
  }
  std::vector<uint16_t> bits(count);
  const auto* f32 = static_cast<const float*>(t.data);
  const auto* b16 = static_cast<const uint16_t*>(t.data);
  for (size_t i = 0; i < count; ++i) {
    bits[i] = bf16_bits(t.dtype == at::DType::f32   ? f32[i]
                        : t.dtype == at::DType::f16 ? at::f16_bits_to_float(b16[i])
                                                    : at::bf16_bits_to_float(b16[i]));
  }
  return kc::DeviceBuffer<uint16_t>(bits);
}

void download(const kc::DeviceBuffer<uint16_t>& o, kc::DType dtype, const at::OutputView& out) {
  const std::vector<uint16_t> bits = o.download();
  for (size_t i = 0; i < bits.size(); ++i) {
    out.data[i] = dtype == kc::DType::f16 ? at::f16_bits_to_float(bits[i]) : at::bf16_bits_to_float(bits[i]);
  }
}

kc::AttentionShape shape_of(const at::HeadsView& q, const at::HeadsView& k, kc::DType dtype, float scale) {
  return kc::AttentionShape{q.n, static_cast<int32_t>(q.heads), static_cast<int32_t>(k.heads),
                            static_cast<int32_t>(q.dim), dtype, scale};
}

// Runs the dense or sparse kernel (index non-null) and writes out.
void run_attention(const at::HeadsView& q, const at::HeadsView& k, const at::HeadsView& v, float scale,
                   const std::vector<SparseIndex>* index, const at::OutputView& out) {
  const kc::DType dtype = device_dtype({&q, &k, &v});
  const kc::AttentionShape shape = shape_of(q, k, dtype, scale);
  const kc::DeviceBuffer<uint16_t> dq = upload(q, dtype), dk = upload(k, dtype), dv = upload(v, dtype);
  const kc::DeviceBuffer<uint16_t> o(static_cast<size_t>(q.heads * q.n * q.dim));
  const kc::AttentionTensors t{dq.get(), dk.get(), dv.get(), o.get()};
  if (index != nullptr) {
    const kc::DeviceIndex di = kc::DeviceIndex::upload(*index);
    kc::attention_sparse(shape, t, di.view());
  } else {
    kc::attention_dense_causal(shape, t);
  }
  kc::synchronize();
  download(o, dtype, out);
}

#endif

}  // namespace

bool dense(const at::HeadsView& q, const at::HeadsView& k, const at::HeadsView& v, const at::OutputView& out,
           const at::DenseOptions& options, const mmi_run_options* run) {
  const Placement p = place(run, {&q, &k, &v});
  if (!p.gpu) return false;
  at::validate_qkv(q, k, v, &out, true, true);
  const bool one_segment = options.segments.empty() ||
                           (options.segments.size() == 2 && options.segments[0] == 0 && options.segments[1] == k.n);
  if (!takes(p,
             options.causal && one_segment && options.query_offset == 0 && q.n == k.n && kernel_head_dim(q.dim),
             "causal attention over one segment with queries = keys at head dims 64, 80 and 128")) {
    return false;
  }
  const float scale = at::resolve_scale(options.scale, q.dim);
  before(run);
#ifdef MMI_HAVE_CUDA
  run_attention(q, k, v, scale, nullptr, out);
#endif
  after(run);
  return true;
}

bool sparse(const at::HeadsView& q, const at::HeadsView& k, const at::HeadsView& v,
            const std::vector<SparseIndex>& index, const at::OutputView& out, const at::SparseOptions& options,
            const mmi_run_options* run) {
  const Placement p = place(run, {&q, &k, &v});
  if (!p.gpu) return false;
  at::validate_qkv(q, k, v, &out, true);
  if (!takes(p, options.causal && kernel_head_dim(q.dim), "causal sparse attention at head dims 64, 80 and 128")) {
    return false;
  }
  at::require(static_cast<int64_t>(index.size()) == q.heads, "expected one index per query head (" +
                                                                  std::to_string(q.heads) + "), got " +
                                                                  std::to_string(index.size()));
  for (size_t h = 0; h < index.size(); ++h) at::validate_index(index[h], q.n, "index of head " + std::to_string(h));
  const float scale = at::resolve_scale(options.scale, q.dim);
  before(run);
#ifdef MMI_HAVE_CUDA
  run_attention(q, k, v, scale, &index, out);
#endif
  after(run);
  return true;
}

std::optional<std::vector<at::Heatmap>> heatmaps(const at::HeadsView& q, const at::HeadsView& k,
                                                 const std::vector<SparseIndex>& index, std::span<const int64_t> heads,
                                                 const at::HeatmapOptions& options, const mmi_run_options* run) {
  const Placement p = place(run, {&q, &k});
  if (!p.gpu) return std::nullopt;
  at::validate_qk(q, k, true);
  at::require(static_cast<int64_t>(index.size()) == q.heads, "expected one index per query head (" +
                                                                  std::to_string(q.heads) + "), got " +
                                                                  std::to_string(index.size()));
  for (const int64_t h : heads) {
    at::require(h >= 0 && h < q.heads, "heatmap head " + std::to_string(h) + " is out of range");
    at::validate_index(index[static_cast<size_t>(h)], q.n, "index of head " + std::to_string(h));
  }
  before(run);
  std::vector<at::Heatmap> maps;
#ifdef MMI_HAVE_CUDA
  const kc::DType dtype = device_dtype({&q, &k});
  const kc::DeviceBuffer<uint16_t> dq = upload(q, dtype), dk = upload(k, dtype);
  const kc::DeviceIndex di = kc::DeviceIndex::upload(index);
  at::HeatmapOptions o = options;
  o.scale = at::resolve_scale(options.scale, q.dim);
  maps = kc::heatmaps(shape_of(q, k, dtype, o.scale), dq.get(), dk.get(), di.view(), heads, o);
#endif
  after(run);
  return maps;
}

}  // namespace mmi::capi::gpu_attention
