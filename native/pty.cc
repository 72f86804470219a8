// Pseudo-terminals for `exec -t`: the spawn child opens the pair in the
// container (child.cc, open_pty) and sends the master here; this only
// sizes it.
#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"

namespace peapod {

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
