#include "mmi/runtime/cuda/gemm.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cublaslt_api.hpp"
#include "mmi/runtime/cuda/device.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::runtime::cuda {

namespace {

// The loaded library: every entry point resolved, or the reason it could not be.
struct Library {
  void* handle = nullptr;
  std::string path;
  std::string error;
  lt::GetVersion get_version = nullptr;
  lt::Create create = nullptr;
  lt::Destroy destroy = nullptr;
  lt::MatmulDescCreate desc_create = nullptr;
  lt::MatmulDescDestroy desc_destroy = nullptr;
  lt::MatmulDescSetAttribute desc_set = nullptr;
  lt::MatrixLayoutCreate layout_create = nullptr;
  lt::MatrixLayoutDestroy layout_destroy = nullptr;
  lt::PreferenceCreate pref_create = nullptr;
  lt::PreferenceDestroy pref_destroy = nullptr;
  lt::PreferenceSetAttribute pref_set = nullptr;
  lt::AlgoGetHeuristic heuristic = nullptr;
  lt::Matmul matmul = nullptr;
};

template <typename F>
bool resolve(Library& lib, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(lib.handle, name));
  if (fn == nullptr) lib.error = lib.path + " lacks " + name;
  return fn != nullptr;
}

Library load_library() {
  Library lib;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("MMI_CUBLASLT"); env != nullptr && *env != '\0') candidates.emplace_back(env);
  for (const char* name : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}) candidates.emplace_back(name);
  std::string tried;
  for (const auto& c : candidates) {
    lib.handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib.handle != nullptr) {
      lib.path = c;
      break;
    }
    const char* e = dlerror();
    tried += "\n  " + c + ": " + (e ? e : "not found");
  }
  if (lib.handle == nullptr) {
    lib.error = "cuBLASLt could not be loaded (set MMI_CUBLASLT to the full path of libcublasLt.so):" + tried;
    return lib;
  }
  const bool ok = resolve(lib, lib.get_version, "cublasLtGetVersion") && resolve(lib, lib.create, "cublasLtCreate") &&
                  resolve(lib, lib.destroy, "cublasLtDestroy") &&
                  resolve(lib, lib.desc_create, "cublasLtMatmulDescCreate") &&
                  resolve(lib, lib.desc_destroy, "cublasLtMatmulDescDestroy") &&
                  resolve(lib, lib.desc_set, "cublasLtMatmulDescSetAttribute") &&
                  resolve(lib, lib.layout_create, "cublasLtMatrixLayoutCreate") &&
                  resolve(lib, lib.layout_destroy, "cublasLtMatrixLayoutDestroy") &&
                  resolve(lib, lib.pref_create, "cublasLtMatmulPreferenceCreate") &&
                  resolve(lib, lib.pref_destroy, "cublasLtMatmulPreferenceDestroy") &&
                  resolve(lib, lib.pref_set, "cublasLtMatmulPreferenceSetAttribute") &&
                  resolve(lib, lib.heuristic, "cublasLtMatmulAlgoGetHeuristic") &&
                  resolve(lib, lib.matmul, "cublasLtMatmul");
  if (ok && lib.get_version() < 110400) {
    lib.error = lib.path + " is version " + std::to_string(lib.get_version()) + "; 11.4 or later is needed";
  }
  if (!lib.error.empty()) {
    dlclose(lib.handle);
    lib.handle = nullptr;
  }
  return lib;
}

const Library& library() {
  static const Library lib = load_library();
  return lib;
}

const Library& require_library() {
  const Library& lib = library();
  if (lib.handle == nullptr) throw Error(ErrorCode::DeviceUnavailable, "", "cuBLASLt", lib.error);
  return lib;
}

void lt_check(lt::Status status, const char* what) {
  if (status != lt::kSuccess) {
    throw Error(ErrorCode::DeviceError, "", "cuBLASLt", std::string(what) + " failed with status " +
                                                            std::to_string(status));
  }
}

struct Key {
  std::int64_t m, n, k, lda, ldc;
  int c_type;
  bool accumulate;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& x) const noexcept {
    std::size_t h = 1469598103934665603ull;
    for (std::int64_t v : {x.m, x.n, x.k, x.lda, x.ldc, std::int64_t{x.c_type}, std::int64_t{x.accumulate}}) {
      h = (h ^ static_cast<std::size_t>(v)) * 1099511628211ull;
    }
    return h;
  }
};

// Layouts and the chosen algorithm of one problem shape, kept for the life of the Gemm.
struct Plan {
  lt::MatrixLayout a = nullptr, b = nullptr, c = nullptr;
  lt::Algo algo{};
};

}  // namespace

bool cublaslt_available(std::string* why) {
  const Library& lib = library();
  if (lib.handle == nullptr && why) *why = lib.error;
  return lib.handle != nullptr;
}

std::string cublaslt_description() {
  const Library& lib = require_library();
  return "cuBLASLt " + std::to_string(lib.get_version()) + " (" + lib.path + ")";
}

struct Gemm::Impl {
  const Library& lib;
  lt::Handle handle = nullptr;
  lt::MatmulDesc desc = nullptr;
  lt::Preference pref = nullptr;
  DeviceMemory workspace;
  std::unordered_map<Key, Plan, KeyHash> plans;

  explicit Impl(std::size_t workspace_bytes) : lib(require_library()), workspace(workspace_bytes, "cuBLASLt workspace") {
    lt_check(lib.create(&handle), "cublasLtCreate");
    lt_check(lib.desc_create(&desc, lt::kComputeF32, CUDA_R_32F), "cublasLtMatmulDescCreate");
    const std::int32_t trans = lt::kOpT, no_trans = lt::kOpN;
    lt_check(lib.desc_set(desc, lt::kDescTransA, &trans, sizeof trans), "set TRANSA");
    lt_check(lib.desc_set(desc, lt::kDescTransB, &no_trans, sizeof no_trans), "set TRANSB");
    lt_check(lib.pref_create(&pref), "cublasLtMatmulPreferenceCreate");
    const std::uint64_t ws = workspace.bytes();
    lt_check(lib.pref_set(pref, lt::kPrefMaxWorkspace, &ws, sizeof ws), "set MAX_WORKSPACE_BYTES");
  }

  ~Impl() {
    for (auto& [key, plan] : plans) {
      lib.layout_destroy(plan.a);
      lib.layout_destroy(plan.b);
      lib.layout_destroy(plan.c);
    }
    if (pref) lib.pref_destroy(pref);
    if (desc) lib.desc_destroy(desc);
    if (handle) lib.destroy(handle);
  }

  const Plan& plan(const Key& key) {
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    Plan p;
    const cudaDataType_t ct = key.c_type == static_cast<int>(OutType::F32) ? CUDA_R_32F : CUDA_R_16BF;
    // Column-major view: D [n, m] = op_T(W as [k, n]) · (A as [k, m]).
    lt_check(lib.layout_create(&p.a, CUDA_R_16BF, static_cast<std::uint64_t>(key.k), static_cast<std::uint64_t>(key.n),
                               key.k),
             "layout W");
    lt_check(lib.layout_create(&p.b, CUDA_R_16BF, static_cast<std::uint64_t>(key.k), static_cast<std::uint64_t>(key.m),
                               key.lda),
             "layout A");
    lt_check(lib.layout_create(&p.c, ct, static_cast<std::uint64_t>(key.n), static_cast<std::uint64_t>(key.m), key.ldc),
             "layout C");
    lt::HeuristicResult result{};
    int found = 0;
    const lt::Status s = lib.heuristic(handle, desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
    if (s != lt::kSuccess || found == 0) {
      lib.layout_destroy(p.a);
      lib.layout_destroy(p.b);
      lib.layout_destroy(p.c);
      throw Error(ErrorCode::DeviceError, "", "cuBLASLt",
                  "no algorithm for a " + std::to_string(key.m) + "x" + std::to_string(key.n) + "x" +
                      std::to_string(key.k) + " product (status " + std::to_string(s) + ")");
    }
    p.algo = result.algo;
    return plans.emplace(key, p).first->second;
  }
};

Gemm::Gemm(cudaStream_t stream, std::size_t workspace_bytes)
    : impl_(std::make_unique<Impl>(workspace_bytes)), stream_(stream) {}

Gemm::~Gemm() = default;

void Gemm::linear(const void* a, std::int64_t lda, std::int64_t m, const void* w, std::int64_t n, std::int64_t k,
                  void* c, OutType c_type, std::int64_t ldc, bool accumulate) {
  if (m == 0) return;
  if (m < 0 || n <= 0 || k <= 0 || lda < k || ldc < n) {
    throw Error(ErrorCode::Internal, "", "gemm",
                "bad shape m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  const Plan& p = impl_->plan({m, n, k, lda, ldc, static_cast<int>(c_type), accumulate});
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  lt_check(impl_->lib.matmul(impl_->handle, impl_->desc, &alpha, w, p.a, a, p.b, &beta, c, p.c, c, p.c, &p.algo,
                             impl_->workspace.get(), impl_->workspace.bytes(), stream_),
           "cublasLtMatmul");
}

}  // namespace mmi::runtime::cuda
