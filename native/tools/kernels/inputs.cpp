#include "inputs.hpp"

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "device_data.hpp"

namespace mmi::kernels_tool {

std::string Shape::describe() const {
  std::ostringstream s;
  s << "N=" << n << " Hq=" << heads_q << " Hkv=" << heads_kv << " D=" << dim << " "
    << (dtype == cuda::DType::bf16 ? "bf16" : "f16");
  return s.str();
}

DeviceQKV::DeviceQKV(const Shape& s)
    : shape(s),
      q(static_cast<size_t>(s.q_elems())),
      k(static_cast<size_t>(s.kv_elems())),
      v(static_cast<size_t>(s.kv_elems())),
      o(static_cast<size_t>(s.q_elems())) {}

void DeviceQKV::fill_random(uint64_t seed) {
  fill_normal(q.get(), shape.q_elems(), shape.dtype, seed * 3 + 0, 1.0f);
  fill_normal(k.get(), shape.kv_elems(), shape.dtype, seed * 3 + 1, 1.0f);
  fill_normal(v.get(), shape.kv_elems(), shape.dtype, seed * 3 + 2, 1.0f);
}

void DeviceQKV::poison_output() { fill_nan(o.get(), shape.q_elems()); }

void HostQKV::upload(DeviceQKV& d) const {
  cuda::copy_to_device(d.q.get(), q.data(), q.size() * 2);
  cuda::copy_to_device(d.k.get(), k.data(), k.size() * 2);
  cuda::copy_to_device(d.v.get(), v.data(), v.size() * 2);
}

uint16_t to_bits(float x, cuda::DType dtype) {
  if (dtype == cuda::DType::f16) {
    const _Float16 h = static_cast<_Float16>(x);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    return bits;
  }
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float from_bits(uint16_t bits, cuda::DType dtype) {
  return dtype == cuda::DType::f16 ? attention::f16_bits_to_float(bits) : attention::bf16_bits_to_float(bits);
}

HostQKV host_random(const Shape& s, uint64_t seed) {
  HostQKV h;
  h.shape = s;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](std::vector<uint16_t>& x, int64_t count) {
    x.resize(static_cast<size_t>(count));
    for (auto& e : x) e = to_bits(normal(rng), s.dtype);
  };
  fill(h.q, s.q_elems());
  fill(h.k, s.kv_elems());
  fill(h.v, s.kv_elems());
  return h;
}

HostQKV host_from(const attention::QKV& x, cuda::DType dtype) {
  HostQKV h;
  h.shape = Shape{x.n, static_cast<int32_t>(x.heads_q), static_cast<int32_t>(x.heads_kv),
                  static_cast<int32_t>(x.dim), dtype};
  auto conv = [&](const std::vector<float>& src, std::vector<uint16_t>& dst) {
    dst.resize(src.size());
    for (size_t i = 0; i < src.size(); ++i) dst[i] = to_bits(src[i], dtype);
  };
  conv(x.q, h.q);
  conv(x.k, h.k);
  conv(x.v, h.v);
  return h;
}

ErrorStats compare(const std::vector<uint16_t>& out, const Shape& s, const std::vector<double>& ref) {
  ErrorStats e;
  double num = 0.0, den = 0.0;
  const size_t count = std::min(out.size(), ref.size());
  for (size_t i = 0; i < count; ++i) {
    const double o = from_bits(out[i], s.dtype);
    if (!std::isfinite(o)) {
      ++e.nonfinite;
      continue;
    }
    const double d = o - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    e.max_abs = std::max(e.max_abs, std::fabs(d));
  }
  e.compared = static_cast<int64_t>(count);
  e.rel_l2 = den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
  return e;
}

}  // namespace mmi::kernels_tool
