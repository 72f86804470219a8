/*
 * reaper_sys.h: the system calls the reaper makes beyond pause's
 * (pause_sys.h): open, read, prctl and waitid. Same rules: every function
 * returns what the kernel returns (>= 0, or -errno); without libc on
 * x86_64 and aarch64, through libc elsewhere.
 */
#ifndef REAPER_SYS_H
#define REAPER_SYS_H

#include "pause_sys.h"

#define SYS_PR_SET_CHILD_SUBREAPER 36 /* linux/prctl.h */
#define SYS_P_ALL 0                   /* linux/wait.h's idtype_t */
#define SYS_P_PID 1
#define SYS_WEXITED 0x00000004
#define SYS_WNOWAIT 0x01000000
#define SYS_WALL 0x40000000           /* __WALL: every child, whatever its exit signal */
#define SYS_CLD_EXITED 1              /* si_code of a child that exited (else it was killed) */

#ifdef PAUSE_NOLIBC

#include <linux/fcntl.h> /* O_*, AT_FDCWD */

/* waitid takes five arguments (the fifth, rusage, must be NULL or the
 * kernel writes through it): one more register than sys_call passes. */
#if defined(__x86_64__)
static long sys_call5(long n, long a, long b, long c, long d, long e) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return ret;
}
#else /* __aarch64__ */
static long sys_call5(long n, long a, long b, long c, long d, long e) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory", "cc");
  return x0;
}
#endif

static int sys_open(const char *path, int flags, int mode) {
  return (int)sys_call(__NR_openat, AT_FDCWD, (long)path, flags, mode);
}

static long sys_read(int fd, void *buf, unsigned long len) {
  return sys_call(__NR_read, fd, (long)buf, (long)len, 0);
}

static int sys_prctl(int option, unsigned long arg) {
  return (int)sys_call5(__NR_prctl, option, (long)arg, 0, 0, 0);
}

/*
 * The kernel's siginfo for SIGCHLD on LP64 (x86_64, aarch64): three ints,
 * then the union at offset 16: pid, uid, status. 128 bytes in all.
 */
struct sys_siginfo {
  int signo, err, code, pad;
  int pid;
  unsigned uid;
  int status;
  char rest[128 - 28];
};

/* A child that has exited: its pid (0 when none has), si_code and si_status. */
static int sys_waitid(int idtype, int id, int options, int *pid, int *code, int *status) {
  struct sys_siginfo si;
  for (unsigned i = 0; i < sizeof si; i++) ((char *)&si)[i] = 0;
  int rc = (int)sys_call5(__NR_waitid, idtype, id, (long)&si, options, 0);
  if (rc < 0) return rc;
  *pid = si.pid;
  *code = si.code;
  *status = si.status;
  return 0;
}

#else /* !PAUSE_NOLIBC */

#include <sys/prctl.h>

static int sys_open(const char *path, int flags, int mode) { return (int)result(open(path, flags, mode)); }
static long sys_read(int fd, void *buf, unsigned long len) { return result(read(fd, buf, len)); }
static int sys_prctl(int option, unsigned long arg) { return (int)result(prctl(option, arg, 0, 0, 0)); }
static int sys_waitid(int idtype, int id, int options, int *pid, int *code, int *status) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid((idtype_t)idtype, (id_t)id, &si, options) < 0) return -errno;
  *pid = si.si_pid;
  *code = si.si_code;
  *status = si.si_status;
  return 0;
}

#endif /* PAUSE_NOLIBC */
#endif /* REAPER_SYS_H */
