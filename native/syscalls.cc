// Small system calls the runtime makes in its own process: pipes for a
// container's stdio, signals through pidfds, and host-side mounts of the pod
// (its /dev/shm). None of these changes Node's namespaces.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"

// From <linux/fs.h>, which glibc before 2.36 cannot include with <sys/mount.h>.
#ifndef FS_IOC_GETFLAGS
#define FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FS_IOC_SETFLAGS _IOW('f', 2, long)
#endif
#ifndef FS_TOPDIR_FL
#define FS_TOPDIR_FL 0x00020000
#endif

namespace peapod {

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw SyscallError(env, "pipe2", errno);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// Returns false when the process is already gone (ESRCH), throws otherwise.
Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    throw SyscallError(env, "pidfd_send_signal " + std::to_string(sig), errno);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) throw SyscallError(env, "pidfd_open " + std::to_string(pid), errno);
  if (fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC) < 0) {
    int err = errno;
    close(static_cast<int>(fd));
    throw SyscallError(env, "fcntl FD_CLOEXEC", err);
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// A named pipe (Node has no mkfifo): a container's stdout and stderr when
// its output must outlive the process that reads it (see runtime/stdio.ts).
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].ToNumber().Uint32Value());
  if (mkfifo(path.c_str(), mode) < 0 && errno != EEXIST) throw SyscallError(env, "mkfifo " + path, errno);
  return env.Undefined();
}

Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = info[0].ToString().Utf8Value();
  std::string target = info[1].ToString().Utf8Value();
  std::string fstype = info[2].ToString().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].ToNumber().Int64Value());
  std::string data = info[4].IsString() ? info[4].ToString().Utf8Value() : "";
  if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) < 0) {
    throw SyscallError(env, "mount " + (fstype.empty() ? source : fstype) + " on " + target, errno);
  }
  return env.Undefined();
}

// Returns false when nothing was mounted there (EINVAL/ENOENT).
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = info[0].ToString().Utf8Value();
  int flags = info.Length() > 1 ? info[1].ToNumber().Int32Value() : 0;
  if (umount2(target.c_str(), flags) < 0) {
    if (errno == EINVAL || errno == ENOENT) return Napi::Boolean::New(env, false);
    throw SyscallError(env, "umount " + target, errno);
  }
  return Napi::Boolean::New(env, true);
}

// Marks a directory whose subdirectories are unrelated to each other (the
// pods/ of a root) as the top of their hierarchies, chattr's +T: ext4's
// allocator then places each pod's directory, and so its files, in a block
// group of its own instead of all next to pods/. On an ext4 without a
// journal that matters: a new inode there steps over every inode of its
// group freed in the last minutes (recently_deleted() in fs/ext4/ialloc.c),
// and pods coming and going free many. A hint only: false wherever the
// flag cannot be had (tmpfs and xfs keep no such flag, a read-only mount or
// a FUSE server refuses it), true once it is set. The directory is opened
// following a link: the caller has checked whose it is (makeOwnDir).
Napi::Value MarkTopDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].ToString().Utf8Value();
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw SyscallError(env, "open " + dir, errno);
  int flags = 0;
  bool marked = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  if (marked && (flags & FS_TOPDIR_FL) == 0) {
    flags |= FS_TOPDIR_FL;
    marked = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  }
  close(fd);
  return Napi::Boolean::New(env, marked);
}

}  // namespace peapod
