// The cloned child: runs a spawn plan with raw system calls only.
// It shares the parent's memory (CLONE_VM|CLONE_VFORK) while the parent is
// suspended, so: no malloc, no C++ objects built, no stdio, no locks. glibc's
// set*id() wrappers are avoided too: they signal every thread of the *parent*.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
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

#include "fd_message.h"
#include "plan.h"

// The new mount API (Linux 5.2; mount_setattr 5.12), for libcs that predate it.
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
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif

namespace peapod {

const char* OpName(Op op) {
  switch (op) {
#define PEAPOD_OP_TEXT(id, js, text) \
  case Op::id:                       \
    return text;
    PEAPOD_OPS(PEAPOD_OP_TEXT)
#undef PEAPOD_OP_TEXT
  }
  return "?";
}

namespace {

// getdents64's record (the kernel's struct linux_dirent64), read in place.
struct linux_dirent64_view {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

// Which system call of a step failed, when a step makes several: the parent
// names it in the error ("pivot_root /r: umount2 .: EBUSY"). A static
// string: the child never allocates. Shared with the parent by CLONE_VM.
const char* failed_call = nullptr;

int Fail(const char* call) {
  failed_call = call;
  return -1;
}

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
  if (sock < 0) return Fail("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
  if (rc < 0) {
    Fail("ioctl SIOCGIFFLAGS");
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
    if (rc < 0) Fail("ioctl SIOCSIFFLAGS");
  }
  int saved = errno;
  close(sock);
  errno = saved;
  return rc;
}

// runc's trick: pivot_root(".", ".") stacks the old root under the new one,
// and a lazy unmount of "." then drops it without needing a put_old dir.
int PivotRoot(const char* root) {
  if (chdir(root) < 0) return Fail("chdir");
  if (syscall(SYS_pivot_root, ".", ".") < 0) return Fail("pivot_root . .");
  if (umount2(".", MNT_DETACH) < 0) return Fail("umount2 (the old root)");
  return chdir("/") < 0 ? Fail("chdir /") : 0;
}

// Puts an fd at the number the plan chose for it (still CLOEXEC).
int MoveFd(int fd, int target) {
  if (fd == target) return 0;
  int rc = dup3(fd, target, O_CLOEXEC);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc < 0 ? Fail("dup3") : 0;
}

int CloseKeepingErrno(int fd, int rc) {
  if (fd < 0) return rc;
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

long OpenAt2(int dirfd, const char* path, unsigned long long flags, unsigned long long resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags;
  how.resolve = resolve;
  return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// Makes what is missing of s.b beneath `base`, one component at a time:
// each prefix is resolved again from `base` with the same rules (so a link
// planted meanwhile still cannot lead out), and only its last component is
// created, in the directory that resolution found. The prefixes are built
// in s.scratch, sized by the parent.
int CreateBeneath(int base, const Step& s, unsigned long long resolve) {
  char* prefix = const_cast<char*>(s.scratch.data());
  size_t len = 0;
  int parent = base;
  const size_t count = s.parts.size();
  for (size_t i = 0; i < count; i++) {
    const char* part = s.parts_p[i];
    const size_t part_len = strlen(part);
    if (len > 0) prefix[len++] = '/';
    memcpy(prefix + len, part, part_len);
    len += part_len;
    prefix[len] = '\0';
    long next = OpenAt2(base, prefix, O_PATH | O_CLOEXEC, resolve);
    if (next < 0 && errno == ENOENT) {
      const bool file = i + 1 == count && (s.f & kBeneathMakeFile);
      if (file) {
        // O_NOFOLLOW|O_EXCL: a link in its place is never followed.
        int fd = openat(parent, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, s.m & 0666);
        if (fd >= 0) close(fd);
        else if (errno != EEXIST) return CloseKeepingErrno(parent == base ? -1 : parent, Fail("openat O_CREAT|O_EXCL"));
      } else if (mkdirat(parent, part, s.m) < 0 && errno != EEXIST) {
        return CloseKeepingErrno(parent == base ? -1 : parent, Fail("mkdirat"));
      }
      next = OpenAt2(base, prefix, O_PATH | O_CLOEXEC, resolve);
      // Still missing: a dangling symlink is in the way. Nothing is made
      // through a link (what it names may be another's to decide): ELOOP.
      struct stat st;
      if (next < 0 && errno == ENOENT && fstatat(parent, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        errno = ELOOP;
      }
    }
    if (parent != base) CloseKeepingErrno(parent, 0);
    if (next < 0) return -1;
    parent = static_cast<int>(next);
  }
  return parent == base ? fcntl(base, F_DUPFD_CLOEXEC, 0) : parent;
}

// s.b under s.a, never leaving it: openat2 with RESOLVE_BENEATH (a symlink
// or ".." that leads out fails with EXDEV) or, in-root, RESOLVE_IN_ROOT (a
// link resolves inside s.a as if it were /); magic links never followed.
int OpenBeneath(const Step& s) {
  // g: the base as an fd + 1 (a mount attached by fd earlier), else by path.
  int base = s.g != 0 ? fcntl(static_cast<int>(s.g - 1), F_DUPFD_CLOEXEC, 0)
                      : open(s.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) return Fail(s.g != 0 ? "fcntl F_DUPFD (the base's fd)" : "open (the base)");
  const unsigned long long resolve =
      RESOLVE_NO_MAGICLINKS | ((s.f & kBeneathInRoot) ? RESOLVE_IN_ROOT : RESOLVE_BENEATH);
  long fd = OpenAt2(base, s.b.c_str(), O_PATH | O_CLOEXEC, resolve);
  if (fd < 0 && errno == ENOENT && (s.f & (kBeneathMakeDirs | kBeneathMakeFile))) {
    fd = CreateBeneath(base, s, resolve);
  }
  CloseKeepingErrno(base, 0);
  if (fd < 0) return -1;
  // A mount point of the wrong kind fails here, as mount(2) would: ENOTDIR.
  struct stat st;
  if (fstat(static_cast<int>(fd), &st) < 0) return CloseKeepingErrno(static_cast<int>(fd), Fail("fstat"));
  const bool dir = S_ISDIR(st.st_mode);
  if (((s.f & kBeneathMakeFile) && dir) || ((s.f & kBeneathMakeDirs) && !(s.f & kBeneathMakeFile) && !dir)) {
    errno = ENOTDIR;
    return CloseKeepingErrno(static_cast<int>(fd), -1);
  }
  return MoveFd(static_cast<int>(fd), static_cast<int>(s.n));
}

// A recursive copy of the mounts at s.b (or at fd f), detached: mounted
// later by fd, wherever the plan says.
int OpenTree(const Step& s) {
  const unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  long fd = s.b.empty() ? syscall(SYS_open_tree, static_cast<int>(s.f), "", flags | AT_EMPTY_PATH)
                        : syscall(SYS_open_tree, AT_FDCWD, s.b.c_str(), flags);
  if (fd < 0) return -1;
  return MoveFd(static_cast<int>(fd), static_cast<int>(s.n));
}

int MountSetattr(int fd, unsigned long long set, unsigned long long propagation, bool recursive) {
  // struct mount_attr (Linux 5.12), spelled here: older libcs lack it.
  struct {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
  } attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.propagation = propagation;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  return syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr) < 0 ? Fail("mount_setattr") : 0;
}

// The binary a container's process is started through (pause), seen through
// a private read-only, nosuid copy of its mount: nothing that runs it (and
// finds it again as /proc/self/exe) can change the host's file (CVE-2019-5736).
int OpenExe(const Step& s) {
  long fd = syscall(SYS_open_tree, AT_FDCWD, s.b.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return Fail("open_tree");
  if (MountSetattr(static_cast<int>(fd), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, false) < 0) {
    return CloseKeepingErrno(static_cast<int>(fd), -1);
  }
  return MoveFd(static_cast<int>(fd), static_cast<int>(s.n));
}

// exec -t: a pseudo-terminal of the container's own devpts, opened in the
// root of its mount namespace with no symlink followed (never through
// /proc/PID/root, which the container's process can point anywhere by
// chroot). The peer becomes stdio; the master goes to the parent over a socket.
int OpenPty(const Step& s) {
  long master = OpenAt2(AT_FDCWD, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC,
                        RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (master < 0) return Fail("openat2 /dev/pts/ptmx");
  const int m = static_cast<int>(master);
  struct statfs fs;
  struct stat st;
  if (fstatfs(m, &fs) < 0 || fstat(m, &st) < 0) return CloseKeepingErrno(m, Fail("fstat"));
  if (static_cast<unsigned long>(fs.f_type) != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode)) {
    errno = EXDEV;  // not a devpts: refuse whatever it is
    return CloseKeepingErrno(m, Fail("/dev/pts/ptmx is not a devpts ptmx"));
  }
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) return CloseKeepingErrno(m, Fail("ioctl TIOCSPTLCK"));
  // Its size before the command can ask for it (f = rows, g = columns).
  struct winsize size;
  memset(&size, 0, sizeof size);
  size.ws_row = static_cast<unsigned short>(s.f);
  size.ws_col = static_cast<unsigned short>(s.g);
  if (ioctl(m, TIOCSWINSZ, &size) < 0) return CloseKeepingErrno(m, Fail("ioctl TIOCSWINSZ"));
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (peer < 0) return CloseKeepingErrno(m, Fail("ioctl TIOCGPTPEER"));
  for (int target = 0; target < 3; target++) {
    if (dup2(peer, target) < 0) {
      CloseKeepingErrno(peer, -1);
      return CloseKeepingErrno(m, Fail("dup2"));
    }
  }
  if (peer > 2) close(peer);
  FdMessage out;  // plain bytes on this stack: no allocation, no lock
  out.Carry(m);
  ssize_t sent = sendmsg(static_cast<int>(s.n), &out.msg, MSG_NOSIGNAL);
  int saved = errno;
  close(m);
  close(static_cast<int>(s.n));
  errno = saved;
  return sent == 1 ? 0 : Fail("sendmsg");
}

// The parent's pid as the host numbers it, from /proc/self/stat of the
// host's procfs (fd `proc`, opened before the root or PID namespace
// changed): getppid() says 0 once the parent is outside our PID namespace.
pid_t HostParent(int proc) {
  int fd = openat(proc, "self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  CloseKeepingErrno(fd, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // "pid (comm) S ppid ...": comm may hold anything, so from its last ')'.
  const char* p = strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ' || p[2] == '\0' || p[3] != ' ') return -1;
  long ppid = 0;
  for (p += 4; *p >= '0' && *p <= '9'; p++) ppid = ppid * 10 + (*p - '0');
  return static_cast<pid_t>(ppid);
}

// PR_SET_PDEATHSIG, then the check that makes it race-free: if the spawner
// died before the flag was set, no signal will ever come, and the parent is
// already another process (f: the host /proc's fd + 1, to ask).
int SetPdeathsig(const Step& s, pid_t spawner) {
  if (prctl(PR_SET_PDEATHSIG, s.n, 0, 0, 0) < 0) return Fail("prctl");
  if (s.f != 0 && HostParent(static_cast<int>(s.f - 1)) != spawner) {
    errno = ESRCH;
    return Fail("the supervisor is gone already");
  }
  return 0;
}

// MS_REMOUNT|MS_BIND|MS_RDONLY replaces a mount's flags: keep what it had
// (runc does the same), or a read-only nosuid mount would lose nosuid.
int RemountReadOnly(const char* target) {
  struct statfs st;
  if (statfs(target, &st) < 0) return Fail("statfs");
  static const struct { unsigned long st, ms; } kKeep[] = {
      {ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},         {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
  };
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  for (const auto& k : kKeep) {
    if (static_cast<unsigned long>(st.f_flags) & k.st) flags |= k.ms;
  }
  return mount("", target, nullptr, flags, nullptr) < 0 ? Fail("mount MS_REMOUNT|MS_BIND|MS_RDONLY") : 0;
}

// OCI masked path: the null device over a file; bound onto a directory the
// kernel says ENOTDIR, and a read-only empty tmpfs goes there instead.
int MaskPath(const Step& s) {
  if (mount(s.a.c_str(), s.b.c_str(), nullptr, MS_BIND, nullptr) == 0) return 0;
  if (errno == ENOENT) return 0;
  if (errno != ENOTDIR) return Fail("mount --bind (the null device)");
  return mount("tmpfs", s.b.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555") < 0 ? Fail("mount tmpfs") : 0;
}

int ReadonlyPath(const Step& s) {
  if (mount(s.b.c_str(), s.b.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return errno == ENOENT ? 0 : Fail("mount --rbind (onto itself)");
  }
  return RemountReadOnly(s.b.c_str());
}

int DropBoundingSet(unsigned long keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1UL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) return 0;  // past CAP_LAST_CAP of this kernel
      return Fail("prctl PR_CAPBSET_DROP");
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
    if (syscall(SYS_capget, &header, data) < 0) return Fail("capget");
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
  if (syscall(SYS_capset, &header, data) < 0) return Fail("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return Fail("prctl PR_CAP_AMBIENT_CLEAR_ALL");
  for (int cap = 0; cap < 64; cap++) {
    if (!(ambient & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return Fail("prctl PR_CAP_AMBIENT_RAISE");
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
  if (s.f != 0) {
    // The status pipe outlives this exec: the program exec'd here (pause
    // --exec) reports on it whether the command's own exec worked.
    if (fcntl(static_cast<int>(s.f - 1), F_SETFD, 0) < 0) return Fail("fcntl (the status pipe)");
  }
  if (s.m == 1) {
    syscall(SYS_execveat, static_cast<int>(s.n), "", const_cast<char* const*>(s.argv_p.data()),
            const_cast<char* const*>(s.envp_p.data()), AT_EMPTY_PATH);
    return Fail("execveat");
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

int RunStep(const Plan* plan, const Step& s) {
  switch (s.op) {
    case Op::kSetns: {
      int fd = open(s.a.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Fail("open");
      return CloseKeepingErrno(fd, setns(fd, static_cast<int>(s.n)) < 0 ? Fail("setns") : 0);
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
      return SetPdeathsig(s, plan->spawner);
    case Op::kSetsid:
      if (setsid() < 0) return Fail("setsid");
      // n = 1: stdin is a terminal that becomes the new session's controlling one.
      if (s.n == 1 && ioctl(0, TIOCSCTTY, 0) < 0) return Fail("ioctl TIOCSCTTY");
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
      if (fd < 0) return Fail("open");
      return CloseKeepingErrno(fd, WriteAll(fd, s.a.data(), s.a.size()) < 0 ? Fail("write") : 0);
    }
    case Op::kUmask:
      umask(s.m);
      return 0;
    case Op::kOpen: {
      int fd = open(s.b.c_str(), (s.m == 1 ? O_RDONLY : O_PATH) | O_CLOEXEC);
      if (fd < 0) return Fail("open");
      return MoveFd(fd, static_cast<int>(s.n));
    }
    case Op::kOpenBeneath:
      return OpenBeneath(s);
    case Op::kOpenTree:
      return OpenTree(s);
    case Op::kMoveMount:
      return static_cast<int>(syscall(SYS_move_mount, static_cast<int>(s.n), "", static_cast<int>(s.f), "",
                                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    case Op::kMountSetattr:
      return MountSetattr(static_cast<int>(s.n), s.f, s.g, s.m == 1);
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
    case Op::kOpenExe:
      return OpenExe(s);
    case Op::kOpenPty:
      return OpenPty(s);
    case Op::kNewKeyring:
      // An anonymous session keyring of its own: never the one of whoever
      // started peapod (host root's), never another container's.
      return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0L) < 0 ? -1 : 0;
    case Op::kEnterPidNs:
    case Op::kExec:
      break;  // RunChild's own
  }
  errno = EINVAL;
  return -1;
}

// The second stack: for the process born inside a PID namespace, while the
// first child waits on its own (CLONE_VFORK).
constexpr size_t kInnerStackSize = 256 * 1024;
alignas(64) char inner_stack[kInnerStackSize];

struct InnerArgs {
  const Plan* plan;
  ChildResult* result;
  size_t first;
};

int InnerMain(void* arg) {
  auto* args = static_cast<InnerArgs*>(arg);
  RunChild(args->plan, args->result, args->first);
  _exit(127);
}

// setns(CLONE_NEWPID) moves only the children to come: the rest of the plan
// runs in one, born in the pod's PID namespace only now, after its mount
// namespace and root are the container's (a process of the pod can never see
// it with the host's root). CLONE_PARENT makes it the spawner's child, so the
// spawner waits for it and gets its exit status; this child then exits.
int EnterPidNamespace(const Plan* plan, ChildResult* result, size_t index) {
  const Step& s = plan->steps[index];
  if (setns(static_cast<int>(s.n), CLONE_NEWPID) < 0) return Fail("setns CLONE_NEWPID");
  close(static_cast<int>(s.n));
  InnerArgs args{plan, result, index + 1};
  pid_t pid = clone(InnerMain, inner_stack + kInnerStackSize, CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD,
                    &args, nullptr, nullptr, nullptr);
  if (pid < 0) return Fail("clone");
  // It has exec'd or failed (then result->step says where).
  result->program = pid;
  return 0;
}

// Marks every fd from 3 up CLOEXEC: close_range (Linux 5.11's flag), or,
// where the kernel lacks it, a walk of /proc/self/fd with a stack buffer.
int CloexecFrom3() {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return Fail("close_range");
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Fail("open /proc/self/fd");
  alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n < 0) return CloseKeepingErrno(dir, Fail("getdents64 /proc/self/fd"));
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct linux_dirent64_view*>(buf + off);
      int fd = 0;
      for (const char* c = d->d_name; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (*c - '0');
      if (fd >= 3 && fd != dir && d->d_name[0] != '.') fcntl(fd, F_SETFD, FD_CLOEXEC);
      off += d->d_reclen;
    }
  }
  close(dir);
  return 0;
}

// Reports a failure before any step (index < 0) or of step i.
int Failure(ChildResult* result, int step) {
  result->step = step;
  result->err = errno;
  result->call = failed_call;
  return -1;
}

}  // namespace

int RunChild(const Plan* plan, ChildResult* result, size_t first) {
  if (first == 0) {
    failed_call = nullptr;
    // Until exec, this child runs on Node's memory with a container's
    // credentials: nothing in the container may ptrace or read it meanwhile.
    // (Dumpability belongs to the memory, so Node stays non-dumpable too;
    // exec gives the program a fresh, dumpable one.)
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return Fail("prctl PR_SET_DUMPABLE"), Failure(result, kBeforeSteps);
    ResetSignalDispositions();
    if (InstallStdio(plan->stdio) < 0) return Fail("dup2 stdio"), Failure(result, kBeforeSteps);
    // Whatever Node left open without CLOEXEC must not reach the new program.
    if (CloexecFrom3() < 0) return Failure(result, kBeforeSteps);
    // The parent's pipe and socket, at the numbers the plan gave them.
    if ((plan->exec_status_write >= 0 && dup3(plan->exec_status_write, plan->exec_status_fd, O_CLOEXEC) < 0) ||
        (plan->pty_socket_child >= 0 && dup3(plan->pty_socket_child, plan->pty_socket_fd, O_CLOEXEC) < 0)) {
      return Fail("dup3 (the status pipe, the pty socket)"), Failure(result, kBeforeSteps);
    }
  }

  const size_t count = plan->steps.size();
  for (size_t i = first; i < count; i++) {
    const Step& step = plan->steps[i];
    failed_call = nullptr;
    if (step.op == Op::kEnterPidNs) {
      if (EnterPidNamespace(plan, result, i) < 0) return Failure(result, static_cast<int>(i));
      // Done: the program runs in the inner child (or it failed, and said so).
      return result->step == -1 ? 0 : -1;
    }
    if (step.op == Op::kExec && !plan->keep_signals_blocked) {
      sigset_t none;
      sigemptyset(&none);
      if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0) return Fail("sigprocmask"), Failure(result, static_cast<int>(i));
    }
    int rc = step.op == Op::kExec ? Exec(step) : RunStep(plan, step);
    if (rc < 0) return Failure(result, static_cast<int>(i));
  }
  errno = EINVAL;  // a plan must end in exec
  return Fail("the plan has no exec"), Failure(result, static_cast<int>(count));
}

}  // namespace peapod
