// Long calls run on a thread of their own, never on the event loop or libuv's pool: the JS side gets
// { promise, cancel } at once. Progress reaches JS through a thread-safe function (at most every 100 ms, and the
// last step always); other events (tokens, heatmaps, head reports) go through the same queue, in order, never
// dropped. The promise settles on the JS thread with the result `resolve` builds, or with an Error carrying `code`
// (the status name), `status` and the engine's error info (`kind`, `file`, `subject`). JS values the work reads
// (input typed arrays, output arrays, index objects) are held by references until it ends. If the environment goes
// away first (worker thread exit, app quit), the job is cancelled and joined.
#pragma once

#include <functional>
#include <memory>
#include <napi.h>
#include <vector>

#include "mmi.h"

namespace mmi::addon {

using Resolve = std::function<Napi::Value(Napi::Env env)>;
// Builds the arguments of an event's callback, on the JS thread.
using EventArgs = std::function<std::vector<napi_value>(Napi::Env env)>;

// What the worker may send besides progress: a call of the job's callback number `slot` (JobSpec::callbacks).
class JobEvents {
 public:
  virtual ~JobEvents() = default;
  virtual void post(size_t slot, EventArgs args) = 0;
};

using Work = std::function<mmi_status(const mmi_run_options* run)>;
using EventWork = std::function<mmi_status(const mmi_run_options* run, JobEvents& events)>;

struct JobSpec {
  Napi::Value on_progress;             // a function, or undefined/null
  std::vector<Napi::Value> callbacks;  // event callbacks by slot: functions, or undefined/null (events dropped)
  int32_t threads = 0;                 // 0: all cores
  std::shared_ptr<mmi_cancel> cancel;  // the token job.cancel() raises; null: a new one
  std::function<void()> on_settle;     // called on the JS thread just before the promise settles
  int32_t device = MMI_DEVICE_AUTO;    // mmi_run_options.device
};

Napi::Object start_job(Napi::Env env, EventWork work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       JobSpec spec);

// keep: values to hold while the work runs; on_progress: a function or undefined; threads: 0 = all cores; device:
// mmi_run_options.device.
Napi::Object start_job(Napi::Env env, Work work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       Napi::Value on_progress, int32_t threads, int32_t device = MMI_DEVICE_AUTO);

// An Error with `code` (e.g. "MMI_INVALID_ARGUMENT") and `status`, plus `kind`, `file` and `subject` when given.
Napi::Error make_error(Napi::Env env, mmi_status status, const std::string& message, const mmi_error_info* info = nullptr);
// Throws make_error(env, MMI_INVALID_ARGUMENT, message) unless ok.
void require_arg(Napi::Env env, bool ok, const std::string& message);
// Throws the last error of this thread's C API call unless status is MMI_OK.
void check(Napi::Env env, mmi_status status);
// A new cancel token (throws MMI_OUT_OF_MEMORY).
std::shared_ptr<mmi_cancel> new_cancel(Napi::Env env);

}  // namespace mmi::addon
