// watchExit(pidfd, callback[, adopted]): the event loop polls the pidfd; when
// it turns readable the process has exited, waitid(P_PIDFD, WNOWAIT) reads its
// status, the callback gets it, and a second waitid collects it.
// libuv only ever waits on its own pids, so this coexists with child_process.
// An adopted process (a pod a daemon before this one started) is not our
// child: waitid would say ECHILD, so only its end is reported, and its exit
// status comes from whoever reaps it (the peapod-reaper's log).
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <napi.h>

#include "errors.h"

namespace peapod {

namespace {

struct Watch {
  uv_poll_t poll;
  int pidfd;
  bool adopted;
  napi_env env;
  Napi::FunctionReference callback;
};

void OnClosed(uv_handle_t* handle) {
  delete static_cast<Watch*>(handle->data);
}

void OnReadable(uv_poll_t* poll, int status, int /*events*/) {
  auto* w = static_cast<Watch*>(poll->data);
  siginfo_t si{};
  int rc = 0;
  if (w->adopted) {
    // Readable means ended; a poll error is said as one.
    if (status == 0) si.si_pid = -1;
  } else {
    // Looked at, not reaped yet (WNOWAIT): the callback writes the exit down
    // first (a daemon's journal), and only then is the zombie reaped. Killed
    // in between, this process leaves the zombie to its reaper, which
    // records the same exit: it is never lost in a window after the reaping.
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w->pidfd), &si, WEXITED | WNOHANG | WNOWAIT);
    if (status == 0 && rc == 0 && si.si_pid == 0) return;  // spurious wakeup
  }
  int err = rc < 0 ? errno : 0;
  uv_poll_stop(poll);

  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Object exit = Napi::Object::New(env);
  if (rc < 0) {
    exit.Set("error", SyscallError(env, "waitid", err).Value());
  } else if (si.si_pid == 0) {
    // A poll error while the process still runs: not an exit, say why.
    exit.Set("error", SyscallError(env, "uv_poll pidfd", -status).Value());
  } else if (si.si_pid < 0) {
    exit.Set("adopted", Napi::Boolean::New(env, true));
  } else if (si.si_code == CLD_EXITED) {
    exit.Set("code", Napi::Number::New(env, si.si_status));
  } else {
    exit.Set("signal", Napi::Number::New(env, si.si_status));
  }
  // The callback runs before the pidfd is closed: until it returns, nobody
  // can be handed the same fd number by accident.
  // A JS exception must not unwind through libuv's C frames: it is handed to
  // Node as an uncaught exception, after the fd and the handle are released.
  napi_value pending = nullptr;
  try {
    w->callback.MakeCallback(env.Global(), {exit});
  } catch (const Napi::Error& e) {
    pending = e.Value();
  }
  if (!w->adopted && rc == 0 && si.si_pid > 0) {
    siginfo_t reaped{};
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w->pidfd), &reaped, WEXITED) < 0 && errno == EINTR) {
    }
  }
  close(w->pidfd);
  uv_close(reinterpret_cast<uv_handle_t*>(poll), OnClosed);
  if (pending != nullptr) napi_fatal_exception(env, pending);
}

}  // namespace

Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "watchExit(pidfd, callback[, adopted]) expected");
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* w = new Watch();
  w->pidfd = info[0].As<Napi::Number>().Int32Value();
  w->adopted = info.Length() > 2 && info[2].ToBoolean();
  w->env = env;
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  w->poll.data = w;
  int fd = w->pidfd;
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    delete w;
    throw SyscallError(env, "uv_poll_init pidfd " + std::to_string(fd), -rc);
  }
  rc = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    throw SyscallError(env, "uv_poll_start pidfd " + std::to_string(fd), -rc);
  }
  return env.Undefined();
}

}  // namespace peapod
