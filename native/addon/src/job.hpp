// Long calls run on a thread of their own, never on the event loop or libuv's pool: the JS side gets
// { promise, cancel } at once. Progress reaches JS through a thread-safe function (at most every 100 ms, and the
// last step always); the promise settles on the JS thread with the result `resolve` builds, or with an Error
// carrying `code` (the status name) and `status`. JS values the work reads (input typed arrays, output arrays,
// index objects) are held by references until it ends. If the environment goes away first (worker thread exit,
// app quit), the job is cancelled and joined.
#pragma once

#include <functional>
#include <napi.h>
#include <vector>

#include "mmi.h"

namespace mmi::addon {

using Work = std::function<mmi_status(const mmi_run_options* run)>;
using Resolve = std::function<Napi::Value(Napi::Env env)>;

// keep: values to hold while the work runs; on_progress: a function or undefined; threads: 0 = all cores.
Napi::Object start_job(Napi::Env env, Work work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       Napi::Value on_progress, int32_t threads);

// An Error with `code` (e.g. "MMI_INVALID_ARGUMENT") and `status`.
Napi::Error make_error(Napi::Env env, mmi_status status, const std::string& message);
// Throws make_error(env, MMI_INVALID_ARGUMENT, message) unless ok.
void require_arg(Napi::Env env, bool ok, const std::string& message);

}  // namespace mmi::addon
