// What a piece of GPU work will allocate, itemised, checked against the free device memory before anything is
// allocated. When it does not fit, the refusal says how many tokens were asked for, the bytes needed (item by
// item), the bytes free, how many tokens would fit, and what to change. Pure arithmetic: no GPU needed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmi::runtime::cuda {

struct PlanItem {
  std::string name;
  std::uint64_t bytes = 0;      // for this request
  std::uint64_t per_token = 0;  // how much of it grows with each token (0: fixed)
};

class MemoryPlan {
 public:
  // tokens: the request's size in tokens (for the message and the "how many fit" answer).
  MemoryPlan(std::string what, std::int64_t tokens) : what_(std::move(what)), tokens_(tokens) {}

  void add(std::string name, std::uint64_t bytes, std::uint64_t per_token = 0);
  std::uint64_t total() const;
  const std::vector<PlanItem>& items() const { return items_; }

  // The largest token count whose plan fits in `free` bytes (same fixed part, per-token part scaled).
  std::int64_t tokens_that_fit(std::uint64_t free) const;
  // Error(OutOfMemory) when total() exceeds `free`; `advice` says what the user can change.
  void require(std::uint64_t free, std::uint64_t device_total, const std::string& advice) const;
  // "15.48 GiB (weights 14.2 GiB, KV cache 1.3 GiB)".
  std::string summary() const;

 private:
  std::string what_;
  std::int64_t tokens_;
  std::vector<PlanItem> items_;
};

std::string format_gib(std::uint64_t bytes);

}  // namespace mmi::runtime::cuda
