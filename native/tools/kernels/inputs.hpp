// Problems for the check and the benchmark: shapes, inputs on the host (small, for the CPU reference) or generated
// on the device (large), and comparison of a GPU output with a float64 reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mmi/attention/synthetic.hpp"
#include "mmi/attention/tensor.hpp"
#include "mmi/cuda/attention.hpp"

namespace mmi::kernels_tool {

struct Shape {
  int64_t n = 0;
  int32_t heads_q = 0, heads_kv = 0, dim = 0;
  cuda::DType dtype = cuda::DType::bf16;
  int64_t q_elems() const { return static_cast<int64_t>(heads_q) * n * dim; }
  int64_t kv_elems() const { return static_cast<int64_t>(heads_kv) * n * dim; }
  cuda::AttentionShape attention() const { return {n, heads_q, heads_kv, dim, dtype, 0.0f}; }
  attention::DType cpu_dtype() const {
    return dtype == cuda::DType::bf16 ? attention::DType::bf16 : attention::DType::f16;
  }
  std::string describe() const;
};

// q, k, v and o on the device, 16-bit elements.
struct DeviceQKV {
  explicit DeviceQKV(const Shape& s);
  Shape shape;
  cuda::DeviceBuffer<uint16_t> q, k, v, o;
  cuda::AttentionTensors tensors() const { return {q.get(), k.get(), v.get(), o.get()}; }
  void fill_random(uint64_t seed);
  void poison_output();
  std::vector<uint16_t> download_output() const { return o.download(); }
};

// 16-bit inputs on the host, read by the CPU reference through HeadsView in the same precision the GPU sees.
struct HostQKV {
  Shape shape;
  std::vector<uint16_t> q, k, v;
  attention::HeadsView qv() const { return view(q, shape.heads_q); }
  attention::HeadsView kv() const { return view(k, shape.heads_kv); }
  attention::HeadsView vv() const { return view(v, shape.heads_kv); }
  void upload(DeviceQKV& d) const;

 private:
  attention::HeadsView view(const std::vector<uint16_t>& x, int64_t heads) const {
    return attention::HeadsView{x.data(), shape.cpu_dtype(), heads, shape.n, shape.dim, 0, 0};
  }
};

uint16_t to_bits(float x, cuda::DType dtype);
float from_bits(uint16_t bits, cuda::DType dtype);

HostQKV host_random(const Shape& s, uint64_t seed);
// The CPU core's video-like synthetic inputs (fp32) rounded to the shape's 16-bit type.
HostQKV host_from(const attention::QKV& x, cuda::DType dtype);

struct ErrorStats {
  double rel_l2 = 0.0;
  double max_abs = 0.0;
  int64_t nonfinite = 0;
  int64_t compared = 0;
};
// Output rows [rows] (original positions) of every head in `heads` (all heads when empty) against ref laid out as
// [heads.size() or Hq][rows.size() or n][dim].
ErrorStats compare(const std::vector<uint16_t>& out, const Shape& s, const std::vector<double>& ref);

}  // namespace mmi::kernels_tool
