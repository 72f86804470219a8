// watchMemcgOom(dir, freezerState, callback) -> id; unwatchMemcgOom(id).
// cgroup v1's OOM notification: an eventfd registered through the memory
// cgroup's cgroup.event_control against its memory.oom_control. The kernel
// signals it when the cgroup runs out of memory, before its OOM killer has
// picked a victim (and once more when the cgroup is removed). When it
// fires, the container's freezer cgroup (when given) is frozen at once,
// here, before any JavaScript runs: the rest of the container stops where
// it is (an OOM victim is exempt from freezing and still dies), and the
// JavaScript side then reads the kill count and kills what is left, or
// thaws it. Every system call is checked; an error names the call and path.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

#include <map>
#include <string>

#include <napi.h>

#include "errors.h"

namespace peapod {

namespace {

struct OomWatch {
  uv_poll_t poll;
  int efd;
  std::string freezer;
  napi_env env;
  Napi::FunctionReference callback;
};

std::map<int, OomWatch*>& Watches() {
  static std::map<int, OomWatch*> watches;
  return watches;
}

void OnClosed(uv_handle_t* handle) {
  auto* w = static_cast<OomWatch*>(handle->data);
  close(w->efd);
  delete w;
}

// Writes FROZEN into freezer.state; the errno of the failed call, or 0.
int Freeze(const std::string& path, std::string* failed) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *failed = "open " + path;
    return errno;
  }
  int err = 0;
  if (write(fd, "FROZEN", 6) != 6) {
    err = errno != 0 ? errno : EIO;
    *failed = "write FROZEN to " + path;
  }
  if (close(fd) < 0 && err == 0) {
    err = errno;
    *failed = "close " + path;
  }
  return err;
}

void OnReadable(uv_poll_t* poll, int status, int /*events*/) {
  auto* w = static_cast<OomWatch*>(poll->data);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Object event = Napi::Object::New(env);
  if (status < 0) {
    event.Set("error", SyscallError(env, "uv_poll eventfd", -status).Value());
  } else {
    uint64_t count = 0;
    ssize_t n = read(w->efd, &count, sizeof count);
    if (n < 0 && errno == EAGAIN) return;  // read already
    if (n != static_cast<ssize_t>(sizeof count)) {
      event.Set("error", SyscallError(env, "read eventfd", n < 0 ? errno : EIO).Value());
    } else {
      event.Set("count", Napi::Number::New(env, static_cast<double>(count)));
      bool frozen = false;
      if (!w->freezer.empty()) {
        std::string failed;
        int err = Freeze(w->freezer, &failed);
        if (err != 0) event.Set("freezeError", SyscallError(env, failed, err).Value());
        frozen = err == 0;
      }
      event.Set("frozen", Napi::Boolean::New(env, frozen));
    }
  }
  // A JS exception must not unwind through libuv's C frames.
  try {
    w->callback.MakeCallback(env.Global(), {event});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace

Napi::Value WatchMemcgOom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "watchMemcgOom(memoryCgroupDir, freezerStateFile, callback) expected");
  }
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string oom = dir + "/memory.oom_control";
  std::string control = dir + "/cgroup.event_control";

  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) throw SyscallError(env, "eventfd", errno);
  int ofd = open(oom.c_str(), O_RDONLY | O_CLOEXEC);
  if (ofd < 0) {
    int err = errno;
    close(efd);
    throw SyscallError(env, "open " + oom, err);
  }
  int cfd = open(control.c_str(), O_WRONLY | O_CLOEXEC);
  if (cfd < 0) {
    int err = errno;
    close(ofd);
    close(efd);
    throw SyscallError(env, "open " + control, err);
  }
  // "<eventfd> <fd of memory.oom_control>": the kernel keeps what it needs of both.
  std::string line = std::to_string(efd) + " " + std::to_string(ofd);
  ssize_t n = write(cfd, line.data(), line.size());
  int werr = n < 0 ? errno : (n != static_cast<ssize_t>(line.size()) ? EIO : 0);
  int cerr = close(cfd) < 0 ? errno : 0;
  int oerr = close(ofd) < 0 ? errno : 0;
  if (werr != 0 || cerr != 0 || oerr != 0) {
    close(efd);
    if (werr != 0) throw SyscallError(env, "write \"" + line + "\" to " + control, werr);
    if (cerr != 0) throw SyscallError(env, "close " + control, cerr);
    throw SyscallError(env, "close " + oom, oerr);
  }

  uv_loop_t* loop = nullptr;
  napi_status got = napi_get_uv_event_loop(env, &loop);
  if (got != napi_ok || loop == nullptr) {
    close(efd);
    throw Napi::Error::New(env, "napi_get_uv_event_loop failed");
  }
  auto* w = new OomWatch();
  w->efd = efd;
  w->freezer = info[1].As<Napi::String>().Utf8Value();
  w->env = env;
  w->callback = Napi::Persistent(info[2].As<Napi::Function>());
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, efd);
  if (rc != 0) {
    close(efd);
    delete w;
    throw SyscallError(env, "uv_poll_init eventfd " + std::to_string(efd), -rc);
  }
  rc = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    throw SyscallError(env, "uv_poll_start eventfd " + std::to_string(efd), -rc);
  }
  Watches()[efd] = w;
  return Napi::Number::New(env, efd);
}

// Closing the eventfd (once libuv has let go of it) unregisters the event.
Napi::Value UnwatchMemcgOom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].As<Napi::Number>().Int32Value();
  auto it = Watches().find(id);
  if (it == Watches().end()) return Napi::Boolean::New(env, false);
  OomWatch* w = it->second;
  Watches().erase(it);
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
  return Napi::Boolean::New(env, true);
}

}  // namespace peapod
