#include "job.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace mmi::addon {

namespace {

struct Message {
  bool done = false;
  int64_t progress_done = 0, progress_total = 0;
};

struct JobState;
void call_js(Napi::Env env, Napi::Function callback, JobState* job, Message* message);
using Channel = Napi::TypedThreadSafeFunction<JobState, Message, call_js>;

struct JobState {
  std::shared_ptr<mmi_cancel> cancel;
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keep;
  Work work;
  Resolve resolve;
  int32_t threads = 0;
  Channel channel;
  std::thread thread;
  // Written by the worker before its final message; read on the JS thread after it (the queue orders them).
  mmi_status status = MMI_OK;
  std::string message;
  // Progress throttling, worker thread only.
  std::chrono::steady_clock::time_point last_progress{};
  bool sent_progress = false;
  // Set on the JS thread when the onProgress callback threw: the job is cancelled and rejects with that error.
  Napi::ObjectReference callback_error;

  explicit JobState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void send_progress(void* user, int64_t done, int64_t total) {
  auto* job = static_cast<JobState*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (done != total && job->sent_progress && now - job->last_progress < std::chrono::milliseconds(100)) return;
  job->sent_progress = true;
  job->last_progress = now;
  auto* message = new Message{false, done, total};
  if (job->channel.NonBlockingCall(message) != napi_ok) delete message;
}

void call_js(Napi::Env env, Napi::Function callback, JobState* job, Message* raw) {
  const std::unique_ptr<Message> message(raw);
  if (env == nullptr || message == nullptr) return;  // the environment is going away
  if (!message->done) {
    if (callback.IsEmpty() || !job->callback_error.IsEmpty()) return;
    try {
      callback.Call({Napi::Number::New(env, static_cast<double>(message->progress_done)),
                     Napi::Number::New(env, static_cast<double>(message->progress_total))});
    } catch (const Napi::Error& e) {
      job->callback_error = Napi::Persistent(e.Value());
      mmi_cancel_request(job->cancel.get());
    }
    return;
  }
  if (!job->callback_error.IsEmpty()) {
    job->deferred.Reject(job->callback_error.Value());
  } else if (job->status == MMI_OK) {
    try {
      job->deferred.Resolve(job->resolve(env));
    } catch (const Napi::Error& e) {
      job->deferred.Reject(e.Value());
    } catch (const std::exception& e) {
      job->deferred.Reject(make_error(env, MMI_OUT_OF_MEMORY, std::string("cannot build the result: ") + e.what()).Value());
    }
  } else {
    job->deferred.Reject(make_error(env, job->status, job->message).Value());
  }
  job->keep.clear();
  job->resolve = nullptr;
}

void finalize(Napi::Env, void*, JobState* job) {
  // Normally the worker has sent its last message and is returning; at environment teardown it may still be
  // computing, so stop it first.
  mmi_cancel_request(job->cancel.get());
  if (job->thread.joinable()) job->thread.join();
  delete job;
}

}  // namespace

Napi::Error make_error(Napi::Env env, mmi_status status, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, mmi_status_name(status)));
  error.Set("status", Napi::Number::New(env, static_cast<double>(status)));
  return error;
}

void require_arg(Napi::Env env, bool ok, const std::string& message) {
  if (!ok) throw make_error(env, MMI_INVALID_ARGUMENT, message);
}

Napi::Object start_job(Napi::Env env, Work work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       Napi::Value on_progress, int32_t threads) {
  require_arg(env, on_progress.IsUndefined() || on_progress.IsNull() || on_progress.IsFunction(),
              "onProgress must be a function");
  mmi_cancel* token = nullptr;
  if (mmi_cancel_create(&token) != MMI_OK) throw make_error(env, MMI_OUT_OF_MEMORY, mmi_last_error());
  std::shared_ptr<mmi_cancel> cancel(token, mmi_cancel_destroy);

  auto job = std::make_unique<JobState>(env);
  job->cancel = cancel;
  job->work = std::move(work);
  job->resolve = std::move(resolve);
  job->threads = threads;
  for (const Napi::Value& v : keep) job->keep.push_back(Napi::Persistent(v));
  const Napi::Promise promise = job->deferred.Promise();
  JobState* state = job.get();
  if (on_progress.IsFunction()) {
    state->channel = Channel::New(env, on_progress.As<Napi::Function>(), "mmi-job", 0, 1, state, finalize,
                                  static_cast<void*>(nullptr));
  } else {
    state->channel = Channel::New(env, "mmi-job", 0, 1, state, finalize, static_cast<void*>(nullptr));
  }
  job.release();  // owned by the channel from here: finalize deletes it
  try {
    state->thread = std::thread([state] {
      const mmi_run_options run{state->threads, state->cancel.get(), send_progress, state};
      state->status = state->work(&run);
      if (state->status != MMI_OK) state->message = mmi_last_error();
      auto* done = new Message{true, 0, 0};
      if (state->channel.BlockingCall(done) != napi_ok) delete done;
      state->channel.Release();
    });
  } catch (const std::system_error& e) {
    state->deferred.Reject(make_error(env, MMI_OUT_OF_MEMORY, std::string("cannot start a thread: ") + e.what()).Value());
    state->channel.Release();
  }

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", promise);
  handle.Set("cancel", Napi::Function::New(env, [cancel](const Napi::CallbackInfo&) { mmi_cancel_request(cancel.get()); }, "cancel"));
  return handle;
}

}  // namespace mmi::addon
