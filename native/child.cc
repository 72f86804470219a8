// The cloned child: runs a spawn plan with raw system calls only.
// It shares the parent's memory (CLONE_VM|CLONE_VFORK) while the parent is
// suspended, so: no malloc, no C++ objects built, no stdio, no locks. glibc's
// set*id() wrappers are avoided too: they signal every thread of the *parent*.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "plan.h"

// The new mount API (Linux 5.2), for glibc versions that predate it.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

namespace peapod {

const char* OpName(Op op) {
  switch (op) {
    case Op::kSetns: return "setns";
    case Op::kUnshare: return "unshare";
    case Op::kMount: return "mount";
    case Op::kUmount: return "umount";
    case Op::kMkdir: return "mkdir";
    case Op::kMknod: return "mknod";
    case Op::kTouch: return "touch";
    case Op::kSymlink: return "symlink";
    case Op::kPivotRoot: return "pivot_root";
    case Op::kChdir: return "chdir";
    case Op::kSethostname: return "sethostname";
    case Op::kLoopbackUp: return "loopback up";
    case Op::kPdeathsig: return "prctl PR_SET_PDEATHSIG";
    case Op::kSetsid: return "setsid";
    case Op::kSetgroups: return "setgroups";
    case Op::kSetgid: return "setgid";
    case Op::kSetuid: return "setuid";
    case Op::kNoNewPrivs: return "prctl PR_SET_NO_NEW_PRIVS";
    case Op::kWriteFile: return "write";
    case Op::kUmask: return "umask";
    case Op::kOpen: return "open";
    case Op::kOpenBeneath: return "open beneath";
    case Op::kOpenTree: return "open_tree";
    case Op::kMoveMount: return "move_mount";
    case Op::kRemountRo: return "remount read-only";
    case Op::kMask: return "mask";
    case Op::kReadonlyPath: return "read-only path";
    case Op::kCapbset: return "prctl PR_CAPBSET_DROP";
    case Op::kKeepCaps: return "prctl PR_SET_KEEPCAPS";
    case Op::kCapset: return "capset";
    case Op::kSeccomp: return "seccomp";
    case Op::kExec: return "exec";
  }
  return "?";
}

namespace {

// Every disposition back to default: Node ignores SIGPIPE, and an ignored
// signal would survive exec into the container.
void ResetSignalDispositions() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // glibc-reserved signals fail; harmless
  }
}

// dup2 clears FD_CLOEXEC on the new fd; when the fd is already in place
// (e.g. Node's own 1 -> 1) it must be cleared by hand.
int InstallStdio(const int stdio[3]) {
  for (int target = 0; target < 3; target++) {
    int fd = stdio[target];
    if (fd < 0) continue;
    if (fd == target) {
      if (fcntl(fd, F_SETFD, 0) < 0) return -1;
    } else if (dup2(fd, target) < 0) {
      return -1;
    }
  }
  return 0;
}

int WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

int LoopbackUp() {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  close(sock);
  errno = saved;
  return rc;
}

// runc's trick: pivot_root(".", ".") stacks the old root under the new one,
// and a lazy unmount of "." then drops it without needing a put_old dir.
int PivotRoot(const char* root) {
  if (chdir(root) < 0) return -1;
  if (syscall(SYS_pivot_root, ".", ".") < 0) return -1;
  if (umount2(".", MNT_DETACH) < 0) return -1;
  return chdir("/");
}

// Puts an fd at the number the plan chose for it (still CLOEXEC).
int MoveFd(int fd, int target) {
  if (fd == target) return 0;
  int rc = dup3(fd, target, O_CLOEXEC);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc < 0 ? -1 : 0;
}

int CloseKeepingErrno(int fd, int rc) {
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

// open_beneath without openat2 (or to make missing directories): one
// component at a time, O_PATH|O_NOFOLLOW, refusing every symlink (ELOOP)
// and "..", so nothing outside `base` is ever reached.
int WalkBeneath(int base, const Step& s) {
  int cur = base;
  const size_t count = s.parts.size();
  for (size_t i = 0; i < count; i++) {
    const char* part = s.parts_p[i];
    const bool last = i + 1 == count;
    if (part[0] == '.' && part[1] == '.' && part[2] == '\0') {
      errno = EXDEV;
      return cur == base ? -1 : CloseKeepingErrno(cur, -1);
    }
    int next = openat(cur, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && s.m != 0) {
      if (mkdirat(cur, part, s.m) < 0 && errno != EEXIST) return cur == base ? -1 : CloseKeepingErrno(cur, -1);
      next = openat(cur, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) return cur == base ? -1 : CloseKeepingErrno(cur, -1);
    if (cur != base) close(cur);
    cur = next;
    struct stat st;
    if (fstat(cur, &st) < 0) return CloseKeepingErrno(cur, -1);
    if (S_ISLNK(st.st_mode)) {
      errno = ELOOP;
      return CloseKeepingErrno(cur, -1);
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return CloseKeepingErrno(cur, -1);
    }
  }
  if (cur == base) {
    // An empty path: the base itself.
    cur = fcntl(base, F_DUPFD_CLOEXEC, 0);
  }
  return cur;
}

int OpenBeneath(const Step& s) {
  int base = open(s.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) return -1;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, base, s.b.c_str(), &how, sizeof how);
  if (fd < 0 && (errno == ENOSYS || (errno == ENOENT && s.m != 0))) {
    fd = WalkBeneath(base, s);
  }
  close(base);
  if (fd < 0) return -1;
  return MoveFd(static_cast<int>(fd), static_cast<int>(s.n));
}

// MS_REMOUNT|MS_BIND|MS_RDONLY replaces a mount's flags: keep what it had
// (runc does the same), or a read-only nosuid mount would lose nosuid.
int RemountReadOnly(const char* target) {
  struct statfs st;
  if (statfs(target, &st) < 0) return -1;
  static const struct { unsigned long st, ms; } kKeep[] = {
      {ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},         {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
  };
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  for (const auto& k : kKeep) {
    if (static_cast<unsigned long>(st.f_flags) & k.st) flags |= k.ms;
  }
  return mount("", target, nullptr, flags, nullptr);
}

// OCI masked path: the null device over a file; bound onto a directory the
// kernel says ENOTDIR, and a read-only empty tmpfs goes there instead.
int MaskPath(const Step& s) {
  if (mount(s.a.c_str(), s.b.c_str(), nullptr, MS_BIND, nullptr) == 0) return 0;
  if (errno == ENOENT) return 0;
  if (errno != ENOTDIR) return -1;
  return mount("tmpfs", s.b.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555");
}

int ReadonlyPath(const Step& s) {
  if (mount(s.b.c_str(), s.b.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return errno == ENOENT ? 0 : -1;
  }
  return RemountReadOnly(s.b.c_str());
}

int DropBoundingSet(unsigned long keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1UL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) return 0;  // past CAP_LAST_CAP of this kernel
      return -1;
    }
  }
  return 0;
}

int SetCapabilities(const Step& s) {
  if (s.ints.size() != 4) {
    errno = EINVAL;
    return -1;
  }
  unsigned long long permitted = static_cast<unsigned long long>(s.ints[0]);
  unsigned long long effective = static_cast<unsigned long long>(s.ints[1]);
  unsigned long long inheritable = static_cast<unsigned long long>(s.ints[2]);
  unsigned long long ambient = static_cast<unsigned long long>(s.ints[3]);
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[2];
  memset(&header, 0, sizeof header);
  memset(data, 0, sizeof data);
  header.version = _LINUX_CAPABILITY_VERSION_3;
  if (s.m != 0) {
    if (syscall(SYS_capget, &header, data) < 0) return -1;
    unsigned long long held = data[0].permitted | (static_cast<unsigned long long>(data[1].permitted) << 32);
    permitted &= held;
    effective &= held;
    inheritable &= held;
    ambient &= held;
  }
  data[0].permitted = static_cast<__u32>(permitted);
  data[1].permitted = static_cast<__u32>(permitted >> 32);
  data[0].effective = static_cast<__u32>(effective);
  data[1].effective = static_cast<__u32>(effective >> 32);
  data[0].inheritable = static_cast<__u32>(inheritable);
  data[1].inheritable = static_cast<__u32>(inheritable >> 32);
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  if (syscall(SYS_capset, &header, data) < 0) return -1;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return -1;
  for (int cap = 0; cap < 64; cap++) {
    if (!(ambient & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -1;
  }
  return 0;
}

int InstallSeccomp(const Step& s) {
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(s.filter.size());
  prog.filter = const_cast<struct sock_filter*>(s.filter.data());
  return static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

int Exec(const Step& s) {
  if (s.m == 1) {
    syscall(SYS_execveat, static_cast<int>(s.n), "", const_cast<char* const*>(s.argv_p.data()),
            const_cast<char* const*>(s.envp_p.data()), AT_EMPTY_PATH);
    return -1;
  }
  int err = ENOENT;
  for (const char* path : s.candidates_p) {
    if (path == nullptr) break;
    execve(path, const_cast<char* const*>(s.argv_p.data()),
           const_cast<char* const*>(s.envp_p.data()));
    // Like execvp: keep looking past missing entries, remember EACCES.
    if (errno == EACCES) err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  errno = err;
  return -1;
}

int RunStep(const Step& s) {
  switch (s.op) {
    case Op::kSetns: {
      int fd = open(s.a.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return -1;
      int rc = setns(fd, static_cast<int>(s.n));
      int saved = errno;
      close(fd);
      errno = saved;
      return rc;
    }
    case Op::kUnshare:
      return unshare(static_cast<int>(s.n));
    case Op::kMount:
      return mount(s.a.empty() ? nullptr : s.a.c_str(), s.b.c_str(),
                   s.c.empty() ? nullptr : s.c.c_str(), s.n,
                   s.d.empty() ? nullptr : s.d.c_str());
    case Op::kUmount:
      return umount2(s.b.c_str(), static_cast<int>(s.n));
    case Op::kMkdir:
      if (mkdir(s.b.c_str(), s.m) < 0 && errno != EEXIST) return -1;
      return 0;
    case Op::kMknod:
      if (mknod(s.b.c_str(), s.m, s.n) < 0 && errno != EEXIST) return -1;
      return 0;
    case Op::kTouch: {
      int fd = open(s.b.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, s.m);
      if (fd < 0) {
        // An existing directory or read-only file is still a mount point.
        if (errno == EISDIR || errno == EROFS || errno == EACCES) return 0;
        return -1;
      }
      close(fd);
      return 0;
    }
    case Op::kSymlink:
      if (symlink(s.a.c_str(), s.b.c_str()) < 0 && errno != EEXIST) return -1;
      return 0;
    case Op::kPivotRoot:
      return PivotRoot(s.b.c_str());
    case Op::kChdir:
      return chdir(s.b.c_str());
    case Op::kSethostname:
      return sethostname(s.a.c_str(), s.a.size());
    case Op::kLoopbackUp:
      return LoopbackUp();
    case Op::kPdeathsig:
      return prctl(PR_SET_PDEATHSIG, s.n, 0, 0, 0);
    case Op::kSetsid:
      if (setsid() < 0) return -1;
      // n = 1: stdin is a terminal that becomes the new session's controlling one.
      if (s.n == 1 && ioctl(0, TIOCSCTTY, 0) < 0) return -1;
      return 0;
    case Op::kSetgroups:
      return static_cast<int>(syscall(SYS_setgroups, s.gids.size(), s.gids.data()));
    case Op::kSetgid:
      return static_cast<int>(syscall(SYS_setresgid, s.n, s.n, s.n));
    case Op::kSetuid:
      return static_cast<int>(syscall(SYS_setresuid, s.n, s.n, s.n));
    case Op::kNoNewPrivs:
      return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    case Op::kWriteFile: {
      int fd = open(s.b.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return -1;
      int rc = WriteAll(fd, s.a.data(), s.a.size());
      int saved = errno;
      close(fd);
      errno = saved;
      return rc;
    }
    case Op::kUmask:
      umask(s.m);
      return 0;
    case Op::kOpen: {
      int fd = open(s.b.c_str(), O_PATH | O_CLOEXEC);
      if (fd < 0) return -1;
      return MoveFd(fd, static_cast<int>(s.n));
    }
    case Op::kOpenBeneath:
      return OpenBeneath(s);
    case Op::kOpenTree: {
      long fd = syscall(SYS_open_tree, AT_FDCWD, s.b.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (fd < 0) return -1;
      return MoveFd(static_cast<int>(fd), static_cast<int>(s.n));
    }
    case Op::kMoveMount:
      return static_cast<int>(syscall(SYS_move_mount, static_cast<int>(s.n), "", AT_FDCWD, s.b.c_str(), MOVE_MOUNT_F_EMPTY_PATH));
    case Op::kRemountRo:
      return RemountReadOnly(s.b.c_str());
    case Op::kMask:
      return MaskPath(s);
    case Op::kReadonlyPath:
      return ReadonlyPath(s);
    case Op::kCapbset:
      return DropBoundingSet(s.n);
    case Op::kKeepCaps:
      return prctl(PR_SET_KEEPCAPS, s.n, 0, 0, 0);
    case Op::kCapset:
      return SetCapabilities(s);
    case Op::kSeccomp:
      return InstallSeccomp(s);
    case Op::kExec:
      return Exec(s);
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

int RunChild(const Plan* plan, ChildResult* result) {
  // Until exec, this child runs on Node's memory with a container's
  // credentials: nothing in the container may ptrace or read it meanwhile.
  // (Dumpability belongs to the memory, so Node stays non-dumpable too;
  // exec gives the program a fresh, dumpable one.)
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ResetSignalDispositions();
  if (InstallStdio(plan->stdio) < 0) {
    result->step = -2;  // stdio, before any step
    result->err = errno;
    return -1;
  }
  // Whatever Node left open without CLOEXEC must not reach the new program.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  const size_t count = plan->steps.size();
  for (size_t i = 0; i < count; i++) {
    const Step& step = plan->steps[i];
    if (step.op == Op::kExec && !plan->keep_signals_blocked) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
    }
    if (RunStep(step) < 0) {
      result->step = static_cast<int>(i);
      result->err = errno;
      return -1;
    }
  }
  result->step = static_cast<int>(count);  // a plan must end in exec
  result->err = EINVAL;
  return -1;
}

}  // namespace peapod
