#include "mmi/runtime/cuda/memory_plan.hpp"

#include <cstdio>

#include "mmi/runtime/errors.hpp"

namespace mmi::runtime::cuda {

std::string format_gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / double(1ull << 30));
  return buf;
}

void MemoryPlan::add(std::string name, std::uint64_t bytes, std::uint64_t per_token) {
  if (bytes > 0) items_.push_back({std::move(name), bytes, per_token});
}

std::uint64_t MemoryPlan::total() const {
  std::uint64_t t = 0;
  for (const auto& i : items_) t += i.bytes;
  return t;
}

std::int64_t MemoryPlan::tokens_that_fit(std::uint64_t free) const {
  std::uint64_t fixed = 0, per_token = 0;
  for (const auto& i : items_) {
    const std::uint64_t scaled = i.per_token * static_cast<std::uint64_t>(tokens_ > 0 ? tokens_ : 0);
    fixed += i.bytes > scaled ? i.bytes - scaled : 0;
    per_token += i.per_token;
  }
  if (fixed >= free) return 0;
  if (per_token == 0) return tokens_;
  return static_cast<std::int64_t>((free - fixed) / per_token);
}

std::string MemoryPlan::summary() const {
  std::string s = format_gib(total()) + " (";
  for (std::size_t i = 0; i < items_.size(); ++i) s += (i ? ", " : "") + items_[i].name + " " + format_gib(items_[i].bytes);
  return s + ")";
}

void MemoryPlan::require(std::uint64_t free, std::uint64_t device_total, const std::string& advice) const {
  if (total() <= free) return;
  throw Error(ErrorCode::OutOfMemory, "", "gpu memory",
              what_ + " of " + std::to_string(tokens_) + " tokens needs " + summary() + " but " + format_gib(free) +
                  " of the GPU's " + format_gib(device_total) + " are free; at most " +
                  std::to_string(tokens_that_fit(free)) + " tokens would fit. " + advice);
}

}  // namespace mmi::runtime::cuda
