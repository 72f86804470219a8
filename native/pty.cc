// Pseudo-terminals for `exec -t`: the pair is made from the container's own
// devpts instance (its ptmx reached through /proc/PID/root), so the
// command sees /dev/pts/N of its container; TIOCGPTPEER opens the peer by
// fd, with no path lookup that a container could redirect.
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"

namespace peapod {

Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ptmx = info[0].ToString().Utf8Value();
  int master = open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw SyscallError(env, "open " + ptmx, errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
    int err = errno;
    close(master);
    throw SyscallError(env, "ioctl TIOCSPTLCK " + ptmx, err);
  }
  int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) {
    int err = errno;
    close(master);
    throw SyscallError(env, "ioctl TIOCGPTPEER " + ptmx, err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("master", Napi::Number::New(env, master));
  out.Set("slave", Napi::Number::New(env, peer));
  return out;
}

Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) throw SyscallError(env, "ioctl TIOCSWINSZ", errno);
  return env.Undefined();
}

}  // namespace peapod
