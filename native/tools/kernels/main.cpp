// mmi-kernels: check the CUDA attention kernels against the CPU reference, or time them.
//   mmi-kernels check [--no-large] [--quick] [--estimation] [--json FILE]
//   mmi-kernels bench [--dense N,...] [--sparse N,...] [--grid N] [--patterns N] [--json FILE]
//   mmi-kernels info
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "check.hpp"
#include "mmi/cuda/runtime.hpp"

namespace {

// "N,N,..." or "none".
std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> out;
  if (text == "none") return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (!end || *end != '\0' || v <= 0) throw std::invalid_argument("not a positive size: " + item);
    out.push_back(v);
  }
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: mmi-kernels check [--no-large] [--quick] [--estimation] [--json FILE]\n"
               "       mmi-kernels bench [--dense N,...] [--sparse N,...] [--grid N] [--patterns N] [--json FILE]\n"
               "       mmi-kernels info\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  try {
    if (mmi::cuda::device_count() == 0) {
      std::fprintf(stderr, "mmi-kernels: no CUDA GPU found\n");
      return 3;
    }
    if (cmd == "info") {
      const auto d = mmi::cuda::current_device();
      std::printf("%s sm_%d%d SMs=%d L2=%zuMB mem=%zuGB driver=%d runtime=%d\n", d.name.c_str(), d.major, d.minor,
                  d.multiprocessors, d.l2_bytes >> 20, d.global_bytes >> 30, d.driver_version, d.runtime_version);
      return 0;
    }
    if (cmd == "check") {
      mmi::kernels_tool::CheckOptions o;
      for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--no-large") {
          o.large = false;
        } else if (a == "--quick") {
          o.quick = true;
        } else if (a == "--estimation") {
          o.estimation = true;
        } else if (a == "--json" && i + 1 < argc) {
          o.json = argv[++i];
        } else {
          return usage();
        }
      }
      return mmi::kernels_tool::run_check(o);
    }
    if (cmd == "bench") {
      mmi::kernels_tool::BenchOptions o;
      for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dense" && i + 1 < argc) {
          o.dense_sizes = parse_sizes(argv[++i]);
        } else if (a == "--sparse" && i + 1 < argc) {
          o.sparse_sizes = parse_sizes(argv[++i]);
        } else if (a == "--grid" && i + 1 < argc) {
          const auto g = parse_sizes(argv[++i]);
          o.grid_size = g.empty() ? 0 : g.front();
        } else if (a == "--patterns" && i + 1 < argc) {
          const auto g = parse_sizes(argv[++i]);
          o.patterns_size = g.empty() ? 0 : g.front();
        } else if (a == "--json" && i + 1 < argc) {
          o.json = argv[++i];
        } else {
          return usage();
        }
      }
      return mmi::kernels_tool::run_bench(o);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmi-kernels %s: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  return usage();
}
