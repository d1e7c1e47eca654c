#include "mmi/attention/control.hpp"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "mmi/attention/error.hpp"

namespace mmi::attention {

namespace {

bool cancelled(const RunControl& control) {
  return control.cancel != nullptr && control.cancel->load(std::memory_order_relaxed);
}

}  // namespace

void check_cancel(const RunControl& control) {
  if (cancelled(control)) throw Error(ErrorCode::Cancelled, "cancelled");
}

void parallel_for(int64_t count, const RunControl& control, const std::function<void(int64_t)>& fn) {
  if (count <= 0) return;
  int threads = control.threads > 0 ? control.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  if (threads > count) threads = static_cast<int>(count);

  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::exception_ptr error;

  // Each thread takes the next unit until none is left, the flag is raised or a unit failed.
  auto take_and_run = [&]() -> bool {
    if (stop.load(std::memory_order_relaxed) || cancelled(control)) return false;
    const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
    if (i >= count) return false;
    try {
      fn(i);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      stop.store(true, std::memory_order_relaxed);
      return false;
    }
    done.fetch_add(1, std::memory_order_relaxed);
    return true;
  };

  std::vector<std::jthread> workers;
  workers.reserve(static_cast<size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back([&] {
      while (take_and_run()) {
      }
    });
  }
  int64_t reported = -1;
  while (take_and_run()) {
    const int64_t d = done.load(std::memory_order_relaxed);
    if (control.progress && d != reported && d < count) {
      try {
        control.progress(d, count);
      } catch (...) {  // a failing progress callback stops the work like a failing unit
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        stop.store(true, std::memory_order_relaxed);
        break;
      }
      reported = d;
    }
  }
  for (auto& w : workers) w.join();

  if (error) std::rethrow_exception(error);
  if (done.load() < count) throw Error(ErrorCode::Cancelled, "cancelled");
  if (control.progress) control.progress(count, count);
}

}  // namespace mmi::attention
