// socketInNetns(path, family): a TCP socket created inside another network
// namespace, for HTTP hooks and probes sent from inside a pod. The network
// namespace is per thread, so the main thread switches, makes the socket,
// and switches back; a socket stays in the namespace it was made in.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"

namespace peapod {

Napi::Value SocketInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  int family = info[1].ToNumber().Int32Value() == 6 ? AF_INET6 : AF_INET;
  int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0) throw SyscallError(env, "open /proc/thread-self/ns/net", errno);
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(own);
    throw SyscallError(env, "open " + path, err);
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(own);
    close(target);
    throw SyscallError(env, "setns " + path, err);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int socket_err = errno;
  int back = setns(own, CLONE_NEWNET);
  int back_err = errno;
  close(own);
  close(target);
  if (back < 0) {
    if (fd >= 0) close(fd);
    throw SyscallError(env, "setns back to own network namespace", back_err);
  }
  if (fd < 0) throw SyscallError(env, "socket in " + path, socket_err);
  return Napi::Number::New(env, fd);
}

}  // namespace peapod
