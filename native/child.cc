// The cloned child: runs a spawn plan with raw system calls only.
// It shares the parent's memory (CLONE_VM|CLONE_VFORK) while the parent is
// suspended, so: no malloc, no C++ objects built, no stdio, no locks. glibc's
// set*id() wrappers are avoided too: they signal every thread of the *parent*.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

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

int Exec(const Step& s) {
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
      return setsid() < 0 ? -1 : 0;
    case Op::kSetgroups:
      return static_cast<int>(syscall(SYS_setgroups, s.ints.size(), s.ints.data()));
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
    case Op::kExec:
      return Exec(s);
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

int RunChild(const Plan* plan, ChildResult* result) {
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
