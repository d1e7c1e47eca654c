// The GPU model ops and the model's own attention kernels against the CPU ops (kernels/ops) and float64
// references, on random inputs: norms, rotary (M-RoPE and 2D), activations, gathers, the greedy choice, cuBLASLt
// products, flash attention (segments and cache continuations, GQA, every head dim) and decode attention (split
// keys).
#include <algorithm>
#include <array>
#include <cmath>

#include "check.hpp"
#include "gpu_test_support.hpp"
#include "mmi/ops/activation.hpp"
#include "mmi/ops/cuda/attention.hpp"
#include "mmi/ops/cuda/ops.hpp"
#include "mmi/ops/norm.hpp"
#include "mmi/ops/rope.hpp"

namespace oc = mmi::ops::cuda;
using gpu_test::Device;
using gpu_test::from_bf16;
using gpu_test::random_floats;
using gpu_test::rel_error;
using gpu_test::rounded;
using gpu_test::to_bf16;

namespace {

constexpr double kBf16Out = 8e-3;  // one bf16 rounding of the output (2^-8) with fp32 math before it

cudaStream_t stream() { return nullptr; }

Device<oc::bf16> device_bf16(const std::vector<float>& v) {
  Device<oc::bf16> d(v.size());
  const auto bits = to_bf16(v);
  MMI_GPU_CHECK(cudaMemcpy(d.get(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice));
  return d;
}

std::vector<float> host_bf16(const Device<oc::bf16>& d) {
  MMI_GPU_CHECK(cudaDeviceSynchronize());
  std::vector<std::uint16_t> bits(d.count);
  MMI_GPU_CHECK(cudaMemcpy(bits.data(), d.get(), bits.size() * 2, cudaMemcpyDeviceToHost));
  return from_bf16(bits);
}

}  // namespace

TEST(rms_norm_matches_the_cpu_op) {
  const std::int64_t rows = 7, dim = 96;
  const auto x = random_floats(rows * dim, 1, 3.0f);
  const auto w = random_floats(dim, 2);
  std::vector<float> want(x.size());
  mmi::ops::rms_norm(x.data(), rows, dim, w.data(), 1e-6f, want.data());
  Device<float> dx(x), dw(w);
  Device<oc::bf16> out(x.size());
  oc::rms_norm(dx.get(), dim, rows, dim, dw.get(), 1e-6f, out.get(), dim, stream());
  CHECK(rel_error(host_bf16(out), want) < kBf16Out) << rel_error(host_bf16(out), want);
}

TEST(rope_split_matches_mrope_and_2d_tables) {
  // Language model: 4 query heads, 2 kv heads, head dim 32, M-RoPE sections [4, 6, 6], bias.
  const int hq = 4, hkv = 2, hd = 32;
  const std::int64_t n = 9, width = (hq + 2 * hkv) * hd;
  const auto qkv = random_floats(n * width, 3);
  const auto bias = random_floats(width, 4);
  std::vector<std::int64_t> pos(3 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    pos[i] = 3 + i;
    pos[n + i] = 3 + (i % 4) * 7;
    pos[2 * n + i] = 100 + i / 3;
  }
  const std::array<std::int64_t, 3> sections{4, 6, 6};
  std::vector<float> cos(n * hd), sin(n * hd);
  mmi::ops::mrope_tables(pos.data(), n, n, hd, 1e6, sections, cos.data(), sin.data());
  std::vector<float> want = qkv;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < width; ++c) want[i * width + c] += bias[c];
  mmi::ops::apply_rotary(want.data(), n, hq + hkv, hd, width, cos.data(), sin.data());

  const auto inv = mmi::ops::rope_inv_freq(hd, 1e6);
  std::vector<std::int32_t> select(hd / 2);
  for (int j = 0; j < hd / 2; ++j) select[j] = j < 4 ? 0 : j < 10 ? 1 : 2;
  Device<float> dqkv(qkv), dbias(bias), dfreq(inv);
  Device<std::int64_t> dpos(pos);
  Device<std::int32_t> dsel(select);
  // q head-major [hq][n][hd]; k, v into a cache of capacity 16 at row 5.
  const std::int64_t cap = 16, at = 5;
  Device<oc::bf16> q(hq * n * hd), k(hkv * cap * hd), v(hkv * cap * hd);
  oc::QkvSplit p;
  p.qkv = dqkv.get();
  p.ld = width;
  p.bias = dbias.get();
  p.rows = n;
  p.hq = hq;
  p.hkv = hkv;
  p.head_dim = hd;
  p.pos = dpos.get();
  p.pos_stride = n;
  p.select = dsel.get();
  p.freq = dfreq.get();
  p.q = q.get();
  p.q_row = hd;
  p.q_head = n * hd;
  p.k = k.get() + at * hd;
  p.v = v.get() + at * hd;
  p.k_row = p.v_row = hd;
  p.k_head = p.v_head = cap * hd;
  oc::rope_split_qkv(p, stream());
  const auto gq = host_bf16(q), gk = host_bf16(k), gv = host_bf16(v);
  std::vector<float> got_q, want_q, got_kv, want_kv;
  for (int h = 0; h < hq + 2 * hkv; ++h) {
    for (std::int64_t i = 0; i < n; ++i) {
      for (int d = 0; d < hd; ++d) {
        const float w = want[i * width + h * hd + d];
        if (h < hq) {
          got_q.push_back(gq[(h * n + i) * hd + d]);
          want_q.push_back(w);
        } else {
          const int kh = h < hq + hkv ? h - hq : h - hq - hkv;
          const auto& src = h < hq + hkv ? gk : gv;
          got_kv.push_back(src[(kh * cap + at + i) * hd + d]);
          want_kv.push_back(w);
        }
      }
    }
  }
  CHECK(rel_error(got_q, want_q) < kBf16Out) << rel_error(got_q, want_q);
  CHECK(rel_error(got_kv, want_kv) < kBf16Out) << rel_error(got_kv, want_kv);

  // Vision: 2D rotary over (row, column) with positions repeating every `period` rows, head dim 16, no bias.
  const int vh = 2, vd = 16;
  const std::int64_t period = 6, rows = 12, vwidth = 3 * vh * vd;
  const auto vqkv = random_floats(rows * vwidth, 5);
  std::vector<std::int64_t> hpos(period), wpos(period), vpos(3 * period, 0);
  for (std::int64_t i = 0; i < period; ++i) {
    hpos[i] = vpos[period + i] = i / 2;
    wpos[i] = vpos[2 * period + i] = i % 3 + 4;
  }
  std::vector<float> vcos(period * vd), vsin(period * vd);
  mmi::ops::rope_2d_tables(hpos.data(), wpos.data(), period, vd, 10000.0, vcos.data(), vsin.data());
  std::vector<float> vwant = vqkv;
  for (std::int64_t r = 0; r < rows; r += period) {
    mmi::ops::apply_rotary(vwant.data() + r * vwidth, period, 2 * vh, vd, vwidth, vcos.data(), vsin.data());
  }
  const auto vinv = mmi::ops::rope_inv_freq(vd / 2, 10000.0);
  std::vector<std::int32_t> vsel(vd / 2);
  std::vector<float> vfreq(vd / 2);
  for (int j = 0; j < vd / 4; ++j) {
    vsel[j] = 1;
    vsel[vd / 4 + j] = 2;
    vfreq[j] = vfreq[vd / 4 + j] = vinv[j];
  }
  Device<float> dv(vqkv), dvfreq(vfreq);
  Device<std::int64_t> dvpos(vpos);
  Device<std::int32_t> dvsel(vsel);
  Device<oc::bf16> vq(rows * vh * vd), vk(rows * vh * vd), vv(rows * vh * vd);
  oc::QkvSplit s;
  s.qkv = dv.get();
  s.ld = vwidth;
  s.rows = rows;
  s.hq = s.hkv = vh;
  s.head_dim = vd;
  s.pos = dvpos.get();
  s.pos_stride = period;
  s.pos_period = period;
  s.select = dvsel.get();
  s.freq = dvfreq.get();
  s.q = vq.get();
  s.k = vk.get();
  s.v = vv.get();
  s.q_row = s.k_row = s.v_row = vh * vd;
  s.q_head = s.k_head = s.v_head = vd;
  oc::rope_split_qkv(s, stream());
  std::vector<float> got, wanted;
  const auto a = host_bf16(vq), b = host_bf16(vk), c = host_bf16(vv);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (int e = 0; e < vh * vd; ++e) {
      got.push_back(a[r * vh * vd + e]);
      wanted.push_back(vwant[r * vwidth + e]);
      got.push_back(b[r * vh * vd + e]);
      wanted.push_back(vwant[r * vwidth + vh * vd + e]);
      got.push_back(c[r * vh * vd + e]);
      wanted.push_back(vwant[r * vwidth + 2 * vh * vd + e]);
    }
  }
  CHECK(rel_error(got, wanted) < kBf16Out) << rel_error(got, wanted);
}

TEST(activations_gathers_and_greedy_choice) {
  const std::int64_t rows = 5, inter = 40;
  const auto gu = random_floats(rows * 2 * inter, 6, 2.0f);
  const auto bias = random_floats(2 * inter, 7);
  std::vector<float> g(rows * inter), u(rows * inter), want(rows * inter);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < inter; ++j) {
      g[r * inter + j] = gu[r * 2 * inter + j] + bias[j];
      u[r * inter + j] = gu[r * 2 * inter + inter + j] + bias[inter + j];
    }
  }
  mmi::ops::silu_mul(g.data(), u.data(), want.data(), rows * inter);
  Device<float> dgu(gu), dbias(bias);
  Device<oc::bf16> out(rows * inter);
  oc::silu_mul(dgu.get(), true, 2 * inter, rows, inter, dbias.get(), out.get(), inter, stream());
  CHECK(rel_error(host_bf16(out), want) < kBf16Out);
  // bf16 input, no bias.
  const auto gu16 = rounded(gu);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < inter; ++j) {
      g[r * inter + j] = gu16[r * 2 * inter + j];
      u[r * inter + j] = gu16[r * 2 * inter + inter + j];
    }
  }
  mmi::ops::silu_mul(g.data(), u.data(), want.data(), rows * inter);
  auto dgu16 = device_bf16(gu);
  oc::silu_mul(dgu16.get(), false, 2 * inter, rows, inter, nullptr, out.get(), inter, stream());
  CHECK(rel_error(host_bf16(out), want) < kBf16Out);

  std::vector<float> gelu = gu;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < 2 * inter; ++c) gelu[r * 2 * inter + c] += bias[c];
  mmi::ops::gelu_erf(gelu.data(), static_cast<std::int64_t>(gelu.size()));
  Device<oc::bf16> gout(gu.size());
  oc::gelu_bias(dgu.get(), 2 * inter, rows, 2 * inter, dbias.get(), gout.get(), 2 * inter, stream());
  CHECK(rel_error(host_bf16(gout), gelu) < kBf16Out);

  // Embedding rows are exact; copies through index arrays land where the indices say.
  const auto table = rounded(random_floats(10 * 16, 8));
  auto dtable = device_bf16(table);
  const std::vector<std::int32_t> ids{3, 9, 0, 3};
  Device<std::int32_t> dids(ids);
  Device<float> emb(ids.size() * 16);
  oc::embedding(dtable.get(), dids.get(), 4, 16, emb.get(), 16, stream());
  const auto e = emb.host();
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (int c = 0; c < 16; ++c) CHECK(e[i * 16 + c] == table[ids[i] * 16 + c]);
  const std::vector<std::int64_t> src_index{2, 0}, dst_index{1, 3};
  Device<std::int64_t> dsrc(src_index), ddst(dst_index);
  Device<float> dst(4 * 16);
  MMI_GPU_CHECK(cudaMemset(dst.get(), 0, 4 * 16 * 4));
  oc::copy_rows(emb.get(), 16, dsrc.get(), dst.get(), 16, ddst.get(), 2, 16, nullptr, stream());
  const auto d = dst.host();
  for (int c = 0; c < 16; ++c) {
    CHECK(d[16 + c] == e[2 * 16 + c] && d[3 * 16 + c] == e[c] && d[c] == 0.0f && d[2 * 16 + c] == 0.0f);
  }

  // Greedy: the first of equal maxima, as std::max_element.
  std::vector<float> logits = random_floats(50001, 9);
  logits[777] = logits[31337] = 50.0f;
  Device<float> dl(logits);
  Device<std::int32_t> choice(1);
  oc::argmax(dl.get(), static_cast<std::int64_t>(logits.size()), choice.get(), stream());
  CHECK(choice.host()[0] == 777);
}

TEST(cublaslt_products_match_float64) {
  namespace rc = mmi::runtime::cuda;
  rc::Gemm gemm(stream());
  for (auto [m, n, k] : {std::array<std::int64_t, 3>{1, 96, 64}, {37, 160, 72}, {300, 512, 256}}) {
    const auto a = rounded(random_floats(m * k, 10 + m));
    const auto w = rounded(random_floats(n * k, 20 + n, 0.1f));
    const auto c0 = random_floats(m * n, 30 + k);
    std::vector<double> want(m * n), want_acc(m * n);
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (std::int64_t t = 0; t < k; ++t) acc += double(a[i * k + t]) * w[j * k + t];
        want[i * n + j] = acc;
        want_acc[i * n + j] = acc + c0[i * n + j];
      }
    }
    auto da = device_bf16(a), dw = device_bf16(w);
    Device<float> c(m * n);
    gemm.linear(da.get(), k, m, dw.get(), n, k, c.get(), rc::OutType::F32, n, false);
    CHECK(rel_error(c.host(), want) < 1e-5) << m << "x" << n << "x" << k << ": " << rel_error(c.host(), want);
    Device<float> acc(c0);
    gemm.linear(da.get(), k, m, dw.get(), n, k, acc.get(), rc::OutType::F32, n, true);
    CHECK(rel_error(acc.host(), want_acc) < 1e-5);
    Device<oc::bf16> c16(m * n);
    gemm.linear(da.get(), k, m, dw.get(), n, k, c16.get(), rc::OutType::BF16, n, false);
    CHECK(rel_error(host_bf16(c16), want) < kBf16Out);
  }
}

namespace {

// Float64 attention of one query row over keys [lo, hi) (all heads strided as the kernels see them).
void reference_row(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, int hd,
                   std::int64_t q_at, std::int64_t k_at, std::int64_t lo, std::int64_t hi, std::int64_t key_row,
                   double scale, float* out) {
  std::vector<double> s(static_cast<std::size_t>(hi - lo));
  double mx = -INFINITY;
  for (std::int64_t j = lo; j < hi; ++j) {
    double d = 0.0;
    for (int c = 0; c < hd; ++c) d += double(q[q_at + c]) * k[k_at + j * key_row + c];
    s[j - lo] = d * scale;
    mx = std::max(mx, s[j - lo]);
  }
  double z = 0.0;
  for (auto& x : s) z += (x = std::exp(x - mx));
  for (int c = 0; c < hd; ++c) {
    double acc = 0.0;
    for (std::int64_t j = lo; j < hi; ++j) acc += s[j - lo] / z * v[k_at + j * key_row + c];
    out[c] = static_cast<float>(acc);
  }
}

}  // namespace

TEST(flash_attention_segments_and_continuations_match_float64) {
  for (int hd : {16, 32, 64, 80, 128}) {
    // Segments, non-causal: rows interleaved [n][heads][hd] as the vision tower lays them out.
    const int heads = 3;
    const std::vector<std::int64_t> cu{0, 64, 100, 101, 229, 300};
    const std::int64_t n = cu.back(), row = heads * hd;
    const auto q = rounded(random_floats(n * row, 40 + hd)), k = rounded(random_floats(n * row, 41 + hd));
    const auto v = rounded(random_floats(n * row, 42 + hd));
    auto dq = device_bf16(q), dk = device_bf16(k), dv = device_bf16(v);
    Device<oc::bf16> out(n * row);
    Device<std::int64_t> dcu(cu);
    oc::FlashParams p;
    p.q = dq.get();
    p.k = dk.get();
    p.v = dv.get();
    p.o = out.get();
    p.q_row = p.k_row = p.v_row = p.o_row = row;
    p.q_head = p.k_head = p.v_head = p.o_head = hd;
    p.n_q = n;
    p.heads = heads;
    p.head_dim = hd;
    p.scale = 1.0f / std::sqrt(float(hd));
    p.cu = dcu.get();
    p.segments = static_cast<int>(cu.size()) - 1;
    oc::flash_attention(p, stream());
    std::vector<float> want(n * row);
    for (std::size_t sgm = 0; sgm + 1 < cu.size(); ++sgm) {
      for (std::int64_t i = cu[sgm]; i < cu[sgm + 1]; ++i) {
        for (int h = 0; h < heads; ++h) {
          reference_row(q, k, v, hd, i * row + h * hd, h * hd, cu[sgm], cu[sgm + 1], row, p.scale,
                        want.data() + i * row + h * hd);
        }
      }
    }
    CHECK(rel_error(host_bf16(out), want) < 1e-2) << "segments hd " << hd << ": " << rel_error(host_bf16(out), want);

    // Causal continuation: 70 new queries at positions 130.., GQA 6:2, keys in a cache [kv][cap][hd].
    const int hq = 6, hkv = 2;
    const std::int64_t q0 = 130, nq = 70, cap = 256;
    const auto cq = rounded(random_floats(hq * nq * hd, 50 + hd));
    const auto ck = rounded(random_floats(hkv * cap * hd, 51 + hd)), cv = rounded(random_floats(hkv * cap * hd, 52 + hd));
    auto dcq = device_bf16(cq), dck = device_bf16(ck), dcv = device_bf16(cv);
    Device<oc::bf16> cout(hq * nq * hd);
    oc::FlashParams c;
    c.q = dcq.get();
    c.q_row = hd;
    c.q_head = nq * hd;
    c.k = dck.get();
    c.v = dcv.get();
    c.k_row = c.v_row = hd;
    c.k_head = c.v_head = cap * hd;
    c.o = cout.get();
    c.o_row = hd;
    c.o_head = nq * hd;
    c.n_q = nq;
    c.heads = hq;
    c.group = hq / hkv;
    c.head_dim = hd;
    c.scale = p.scale;
    c.q0 = q0;
    oc::flash_attention(c, stream());
    std::vector<float> cwant(hq * nq * hd);
    for (int h = 0; h < hq; ++h) {
      for (std::int64_t i = 0; i < nq; ++i) {
        reference_row(cq, ck, cv, hd, (h * nq + i) * hd, (h / (hq / hkv)) * cap * hd, 0, q0 + i + 1, hd, c.scale,
                      cwant.data() + (h * nq + i) * hd);
      }
    }

    CHECK(rel_error(host_bf16(cout), cwant) < 1e-2) << "causal hd " << hd << ": " << rel_error(host_bf16(cout), cwant);
  }
}

TEST(decode_attention_matches_float64_over_many_splits) {
  for (auto [hq, hkv, hd] : {std::array<int, 3>{28, 4, 128}, {3, 1, 32}, {4, 2, 80}, {2, 2, 16}}) {
    for (std::int64_t length : {1, 100, 257, 5000}) {
      const std::int64_t cap = length + 7;
      const auto q = rounded(random_floats(hq * hd, 60 + length));
      const auto k = rounded(random_floats(hkv * cap * hd, 61 + length)), v = rounded(random_floats(hkv * cap * hd, 62 + length));
      auto dq = device_bf16(q), dk = device_bf16(k), dv = device_bf16(v);
      Device<oc::bf16> out(hq * hd);
      const std::size_t ws = oc::decode_workspace_bytes(hq, hd, length);
      Device<char> work(ws);
      oc::DecodeParams p;
      p.q = dq.get();
      p.k = dk.get();
      p.v = dv.get();
      p.kv_head = cap * hd;
      p.length = length;
      p.heads = hq;
      p.group = hq / hkv;
      p.head_dim = hd;
      p.scale = 1.0f / std::sqrt(float(hd));
      p.o = out.get();
      oc::decode_attention(p, work.get(), ws, stream());
      std::vector<float> want(hq * hd);
      for (int h = 0; h < hq; ++h) {
        reference_row(q, k, v, hd, h * hd, (h / (hq / hkv)) * cap * hd, 0, length, hd, p.scale, want.data() + h * hd);
      }
      CHECK(rel_error(host_bf16(out), want) < 1e-2)
          << hq << "/" << hkv << " hd " << hd << " L " << length << ": " << rel_error(host_bf16(out), want);
    }
  }
}

GPU_TEST_MAIN
