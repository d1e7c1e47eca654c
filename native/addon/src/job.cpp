#include "job.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace mmi::addon {

namespace {

struct Message {
  enum class Kind { Progress, Event, Done } kind = Kind::Progress;
  int64_t progress_done = 0, progress_total = 0;
  size_t slot = 0;
  EventArgs args;
};

struct JobState;
void call_js(Napi::Env env, Napi::Function callback, JobState* job, Message* message);
using Channel = Napi::TypedThreadSafeFunction<JobState, Message, call_js>;

struct JobState final : JobEvents {
  std::shared_ptr<mmi_cancel> cancel;
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keep;
  Napi::FunctionReference on_progress;
  std::vector<Napi::FunctionReference> callbacks;
  EventWork work;
  Resolve resolve;
  std::function<void()> on_settle;
  int32_t threads = 0;
  int32_t device = MMI_DEVICE_AUTO;
  Channel channel;
  std::thread thread;
  std::atomic<bool> finished{false};  // the work has returned (set by the worker)
  // Written by the worker before its final message; read on the JS thread after it (the queue orders them).
  mmi_status status = MMI_OK;
  std::string message, kind, file, subject;
  // Progress throttling, worker thread only.
  std::chrono::steady_clock::time_point last_progress{};
  bool sent_progress = false;
  // Set on the JS thread when a callback threw: the job is cancelled and rejects with that error.
  Napi::ObjectReference callback_error;

  explicit JobState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  void post(size_t slot, EventArgs args) override {
    if (slot >= callbacks.size() || callbacks[slot].IsEmpty()) return;
    auto* message = new Message{Message::Kind::Event, 0, 0, slot, std::move(args)};
    if (channel.NonBlockingCall(message) != napi_ok) delete message;
  }
};

void send_progress(void* user, int64_t done, int64_t total) {
  auto* job = static_cast<JobState*>(user);
  if (job->on_progress.IsEmpty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (done != total && job->sent_progress && now - job->last_progress < std::chrono::milliseconds(100)) return;
  job->sent_progress = true;
  job->last_progress = now;
  auto* message = new Message{Message::Kind::Progress, done, total, 0, nullptr};
  if (job->channel.NonBlockingCall(message) != napi_ok) delete message;
}

// Calls a JS callback; an exception it throws cancels the job, which then rejects with it.
void invoke(Napi::Env env, JobState* job, const Napi::FunctionReference& fn, const std::vector<napi_value>& args) {
  if (fn.IsEmpty() || !job->callback_error.IsEmpty()) return;
  try {
    fn.Call(env.Undefined(), args);
  } catch (const Napi::Error& e) {
    job->callback_error = Napi::Persistent(e.Value());
    mmi_cancel_request(job->cancel.get());
  }
}

void call_js(Napi::Env env, Napi::Function, JobState* job, Message* raw) {
  const std::unique_ptr<Message> message(raw);
  if (env == nullptr || message == nullptr) return;  // the environment is going away
  switch (message->kind) {
    case Message::Kind::Progress:
      invoke(env, job, job->on_progress,
             {Napi::Number::New(env, static_cast<double>(message->progress_done)),
              Napi::Number::New(env, static_cast<double>(message->progress_total))});
      return;
    case Message::Kind::Event:
      if (job->callback_error.IsEmpty()) {
        try {
          invoke(env, job, job->callbacks[message->slot], message->args(env));
        } catch (const Napi::Error& e) {
          job->callback_error = Napi::Persistent(e.Value());
          mmi_cancel_request(job->cancel.get());
        }
      }
      return;
    case Message::Kind::Done:
      break;
  }
  if (job->on_settle) std::exchange(job->on_settle, nullptr)();
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
    const mmi_error_info info{job->kind.c_str(), job->file.c_str(), job->subject.c_str()};
    job->deferred.Reject(make_error(env, job->status, job->message, &info).Value());
  }
  job->keep.clear();
  job->callbacks.clear();
  job->on_progress.Reset();
  job->resolve = nullptr;
  job->work = nullptr;
}

void finalize(Napi::Env, void*, JobState* job) {
  // Normally the worker has sent its last message and is returning; at environment teardown it may still be
  // computing, so stop it first. (A finished job leaves the token alone: an encoder's token outlives its jobs.)
  if (!job->finished.load()) mmi_cancel_request(job->cancel.get());
  if (job->thread.joinable()) job->thread.join();
  delete job;
}

Napi::FunctionReference function_ref(Napi::Env env, Napi::Value v, const std::string& name) {
  if (v.IsUndefined() || v.IsNull()) return {};
  require_arg(env, v.IsFunction(), name + " must be a function");
  return Napi::Persistent(v.As<Napi::Function>());
}

}  // namespace

Napi::Error make_error(Napi::Env env, mmi_status status, const std::string& message, const mmi_error_info* info) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, mmi_status_name(status)));
  error.Set("status", Napi::Number::New(env, static_cast<double>(status)));
  if (info != nullptr) {
    if (info->kind != nullptr && *info->kind != '\0') error.Set("kind", Napi::String::New(env, info->kind));
    if (info->file != nullptr && *info->file != '\0') error.Set("file", Napi::String::New(env, info->file));
    if (info->subject != nullptr && *info->subject != '\0') error.Set("subject", Napi::String::New(env, info->subject));
  }
  return error;
}

void require_arg(Napi::Env env, bool ok, const std::string& message) {
  if (!ok) throw make_error(env, MMI_INVALID_ARGUMENT, message);
}

void check(Napi::Env env, mmi_status status) {
  if (status == MMI_OK) return;
  mmi_error_info info{};
  mmi_last_error_info(&info);
  throw make_error(env, status, mmi_last_error(), &info);
}

std::shared_ptr<mmi_cancel> new_cancel(Napi::Env env) {
  mmi_cancel* token = nullptr;
  if (mmi_cancel_create(&token) != MMI_OK) throw make_error(env, MMI_OUT_OF_MEMORY, mmi_last_error());
  return std::shared_ptr<mmi_cancel>(token, mmi_cancel_destroy);
}

Napi::Object start_job(Napi::Env env, EventWork work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       JobSpec spec) {
  auto job = std::make_unique<JobState>(env);
  job->on_progress = function_ref(env, spec.on_progress, "onProgress");
  for (size_t i = 0; i < spec.callbacks.size(); ++i) {
    job->callbacks.push_back(function_ref(env, spec.callbacks[i], "event callback " + std::to_string(i)));
  }
  const std::shared_ptr<mmi_cancel> cancel = spec.cancel ? spec.cancel : new_cancel(env);
  job->cancel = cancel;
  job->work = std::move(work);
  job->resolve = std::move(resolve);
  job->on_settle = std::move(spec.on_settle);
  job->threads = spec.threads;
  job->device = spec.device;
  for (const Napi::Value& v : keep) job->keep.push_back(Napi::Persistent(v));
  const Napi::Promise promise = job->deferred.Promise();
  JobState* state = job.get();
  state->channel = Channel::New(env, "mmi-job", 0, 1, state, finalize, static_cast<void*>(nullptr));
  job.release();  // owned by the channel from here: finalize deletes it
  try {
    state->thread = std::thread([state] {
      const mmi_run_options run{state->threads, state->cancel.get(), send_progress, state, state->device};
      state->status = state->work(&run, *state);
      state->finished.store(true);
      if (state->status != MMI_OK) {
        state->message = mmi_last_error();
        mmi_error_info info{};
        mmi_last_error_info(&info);
        state->kind = info.kind;
        state->file = info.file;
        state->subject = info.subject;
      }
      auto* done = new Message{Message::Kind::Done, 0, 0, 0, nullptr};
      if (state->channel.BlockingCall(done) != napi_ok) delete done;
      state->channel.Release();
    });
  } catch (const std::system_error& e) {
    if (state->on_settle) std::exchange(state->on_settle, nullptr)();
    state->deferred.Reject(make_error(env, MMI_OUT_OF_MEMORY, std::string("cannot start a thread: ") + e.what()).Value());
    state->channel.Release();
  }

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", promise);
  handle.Set("cancel", Napi::Function::New(env, [cancel](const Napi::CallbackInfo&) { mmi_cancel_request(cancel.get()); }, "cancel"));
  return handle;
}

Napi::Object start_job(Napi::Env env, Work work, Resolve resolve, const std::vector<Napi::Value>& keep,
                       Napi::Value on_progress, int32_t threads, int32_t device) {
  return start_job(
      env, [work = std::move(work)](const mmi_run_options* run, JobEvents&) { return work(run); }, std::move(resolve),
      keep, JobSpec{on_progress, {}, threads, nullptr, nullptr, device});
}

}  // namespace mmi::addon
