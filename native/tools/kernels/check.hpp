// `mmi-kernels check` and `mmi-kernels bench`.
#pragma once

#include <string>
#include <vector>

namespace mmi::kernels_tool {

struct CheckOptions {
  bool large = true;   // 1M and 2M token cases
  bool quick = false;  // a few small cases only (for compute-sanitizer)
  bool estimation = false;  // the GPU estimation checks only (every pattern estimated on the device)
  std::string json;   // append one JSON line per result
};
int run_check(const CheckOptions& options);

struct BenchOptions {
  std::vector<int64_t> dense_sizes{32768, 65536, 131072, 262144};
  std::vector<int64_t> sparse_sizes{131072, 262144, 524288, 1048576};
  int64_t grid_size = 262144;  // 0: skip the grid benchmark
  int64_t patterns_size = 0;   // block-sparse and the boundary patterns on a mixed-modality prompt; 0: skip
  std::string json;
};
int run_bench(const BenchOptions& options);

}  // namespace mmi::kernels_tool
