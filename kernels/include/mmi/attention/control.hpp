// How a long computation is run: how many threads, a cancel flag checked between work units (heads, query blocks),
// and a progress callback. Work units are small (one head's query block: well under 100 ms), so cancellation is
// prompt without interrupting arithmetic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace mmi::attention {

struct RunControl {
  int threads = 0;                              // 0: one per hardware thread; 1: everything on the calling thread
  const std::atomic<bool>* cancel = nullptr;    // raised by another thread to stop; the call then throws Cancelled
  std::function<void(int64_t done, int64_t total)> progress;  // called on the calling thread only, done ascending
};

// Calls fn(i) for every i in [0, count) on up to `control.threads` threads (the calling thread takes part).
// Checks the cancel flag before each unit; reports progress after units complete and once at the end. Rethrows
// the first exception a unit threw; throws Error(Cancelled) if the flag stopped the work.
void parallel_for(int64_t count, const RunControl& control, const std::function<void(int64_t)>& fn);

// Throws Error(Cancelled) if the flag is raised: for long serial loops.
void check_cancel(const RunControl& control);

}  // namespace mmi::attention
