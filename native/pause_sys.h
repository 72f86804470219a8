/*
 * pause_sys.h: the dozen system calls pause makes, and its entry point.
 *
 * Why no libc: pause lives as long as its pod, once per pod. Linked
 * statically against glibc it is a ~680 KB binary and ~680 KiB resident,
 * nearly all of it file-backed pages of libc code pause never needs. With
 * PAUSE_NOLIBC (binding.gyp defines it, together with -nostdlib, on x86_64
 * and aarch64) it is its own `_start` and a few raw system calls: a few KB
 * on disk, ~10 KiB resident. On any other architecture the same functions
 * are thin wrappers of libc, and the same pause.c builds against it.
 *
 * Every function returns what the kernel returns: a value >= 0, or -errno.
 * There is no errno variable, in either build.
 *
 * No signal handler is ever installed (pause takes its signals with
 * rt_sigtimedwait), so there is no restorer and no rt_sigreturn trampoline
 * to provide on x86_64, and no vdso one to rely on on aarch64.
 */
#ifndef PAUSE_SYS_H
#define PAUSE_SYS_H

/* What the program defines (pause.c: pause_main; reaper.c names its own as
 * SYS_MAIN before including this): it runs with the argv and envp it was
 * started with. */
#ifndef SYS_MAIN
#define SYS_MAIN pause_main
#endif
static int SYS_MAIN(int argc, char **argv, char **envp);

#ifdef PAUSE_NOLIBC

#if !(defined(__x86_64__) && defined(__LP64__)) && !defined(__aarch64__)
#error "PAUSE_NOLIBC is for x86_64 and aarch64; build without it to use libc"
#endif

/* Kernel UAPI headers only: constants, no code, no libc. */
#include <asm/unistd.h>   /* __NR_* of this architecture */
#include <linux/errno.h>  /* ENOENT, EINTR, ... */
#include <linux/signal.h> /* SIGINT, SIGTERM, SIGCHLD */
#include <linux/wait.h>   /* WNOHANG */

#ifndef __NR_close_range
#define __NR_close_range 436 /* the same on every architecture; headers before 5.9 lack it */
#endif

/* The kernel's encoding of a wait status (libc's <sys/wait.h> decodes the same). */
#define WTERMSIG(s) ((s) & 0x7f)
#define WIFSIGNALED(s) (WTERMSIG(s) != 0 && WTERMSIG(s) != 0x7f)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)

/*
 * The signal set the rt_sig* calls take: on both architectures the kernel's
 * _NSIG is 64, one bit per signal, so it is one 64-bit word.
 */
typedef unsigned long long sys_sigset;

static void sigset_all(sys_sigset *s) { *s = ~0ULL; }
static void sigset_none(sys_sigset *s) { *s = 0; }
static void sigset_add(sys_sigset *s, int sig) { *s |= 1ULL << (sig - 1); }

/* One system call of up to four arguments: all pause needs. */
#if defined(__x86_64__)
static long sys_call(long n, long a, long b, long c, long d) {
  register long r10 __asm__("r10") = d; /* the 4th argument: rcx is taken by `syscall` */
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}
#else /* __aarch64__ */
static long sys_call(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
  return x0;
}
#endif

static long sys_write(int fd, const void *buf, unsigned long len) {
  return sys_call(__NR_write, fd, (long)buf, (long)len, 0);
}

__attribute__((noreturn)) static void sys_exit(int code) {
  for (;;) sys_call(__NR_exit_group, code, 0, 0, 0);
}

static int sys_getpid(void) { return (int)sys_call(__NR_getpid, 0, 0, 0, 0); }

static int sys_chdir(const char *path) { return (int)sys_call(__NR_chdir, (long)path, 0, 0, 0); }

static int sys_close_range(unsigned first, unsigned last) {
  return (int)sys_call(__NR_close_range, first, last, 0, 0);
}

static int sys_close(int fd) { return (int)sys_call(__NR_close, fd, 0, 0, 0); }

/*
 * fork() is clone(SIGCHLD) with no new stack: the child runs on a copy of
 * ours, so returning from here works in both. (aarch64 has no fork call;
 * the two architectures order clone's later arguments differently, but
 * they are all 0 here.)
 */
static int sys_fork(void) { return (int)sys_call(__NR_clone, SIGCHLD, 0, 0, 0); }

static int sys_execve(const char *path, char **argv, char **envp) {
  return (int)sys_call(__NR_execve, (long)path, (long)argv, (long)envp, 0);
}

static int sys_kill(int pid, int sig) { return (int)sys_call(__NR_kill, pid, sig, 0, 0); }

#define SYS_F_SETFD 2    /* F_SETFD and FD_CLOEXEC, the same on both architectures */
#define SYS_FD_CLOEXEC 1

static int sys_set_cloexec(int fd) { return (int)sys_call(__NR_fcntl, fd, SYS_F_SETFD, SYS_FD_CLOEXEC, 0); }

static int sys_wait4(int pid, int *status, int options) {
  return (int)sys_call(__NR_wait4, pid, (long)status, options, 0);
}

#define SYS_SIG_SETMASK 2 /* SIG_SETMASK, the same on both architectures */

static int sys_set_sigmask(const sys_sigset *set) {
  return (int)sys_call(__NR_rt_sigprocmask, SYS_SIG_SETMASK, (long)set, 0, sizeof *set);
}

/* Sleeps until one of the (blocked) signals in set is pending, and takes it. */
static int sys_wait_signal(const sys_sigset *set) {
  return (int)sys_call(__NR_rt_sigtimedwait, (long)set, 0, 0, sizeof *set);
}

/* libc's words for the errors exec and fork can report; a number for the rest. */
static const char *sys_strerror(int err) {
  switch (err) {
  case EPERM: return "Operation not permitted";
  case ENOENT: return "No such file or directory";
  case EIO: return "Input/output error";
  case E2BIG: return "Argument list too long";
  case ENOEXEC: return "Exec format error";
  case EAGAIN: return "Resource temporarily unavailable";
  case ENOMEM: return "Cannot allocate memory";
  case EACCES: return "Permission denied";
  case EFAULT: return "Bad address";
  case ENOTDIR: return "Not a directory";
  case EISDIR: return "Is a directory";
  case EINVAL: return "Invalid argument";
  case ENFILE: return "Too many open files in system";
  case EMFILE: return "Too many open files";
  case ETXTBSY: return "Text file busy";
  case ENAMETOOLONG: return "File name too long";
  case ELOOP: return "Too many levels of symbolic links";
  case ELIBBAD: return "Accessing a corrupted shared library";
  default: break;
  }
  static char text[] = "Unknown error 0000000000";
  char *p = text + sizeof "Unknown error " - 1;
  unsigned n = (unsigned)err, div = 1;
  while (n / div >= 10) div *= 10;
  for (; div > 0; div /= 10) *p++ = (char)('0' + n / div % 10);
  *p = '\0';
  return text;
}

/*
 * The kernel starts us with the stack pointer on argc, then argv[], NULL,
 * envp[], NULL. _start hands that address to pause_entry, with the stack
 * aligned to 16 as a C call needs; nothing is set up and nothing is torn
 * down (there are no constructors, no stdio buffers, no atexit).
 */
__attribute__((used, noreturn)) void pause_entry(long *sp);
__attribute__((used, noreturn)) void pause_entry(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  sys_exit(SYS_MAIN(argc, argv, argv + argc + 1));
}

#if defined(__x86_64__)
__asm__(".text\n"
        ".global _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"   /* the outermost frame, for debuggers */
        "  mov %rsp, %rdi\n"   /* pause_entry(sp) */
        "  and $-16, %rsp\n"
        "  call pause_entry\n"
        "  hlt\n");
#else /* __aarch64__: sp is 16-aligned at entry already */
__asm__(".text\n"
        ".global _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl pause_entry\n"
        "  brk #0\n");
#endif

#else /* !PAUSE_NOLIBC: the same calls, through libc */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef sigset_t sys_sigset;

static void sigset_all(sys_sigset *s) { sigfillset(s); }
static void sigset_none(sys_sigset *s) { sigemptyset(s); }
static void sigset_add(sys_sigset *s, int sig) { sigaddset(s, sig); }

static long result(long r) { return r < 0 ? -errno : r; }

static long sys_write(int fd, const void *buf, unsigned long len) { return result(write(fd, buf, len)); }
__attribute__((noreturn)) static void sys_exit(int code) { _exit(code); }
static int sys_getpid(void) { return getpid(); }
static int sys_chdir(const char *path) { return (int)result(chdir(path)); }
static int sys_close_range(unsigned first, unsigned last) {
  return (int)result(syscall(SYS_close_range, first, last, 0U));
}
static int sys_fork(void) { return (int)result(fork()); }
static int sys_close(int fd) { return (int)result(close(fd)); }
static int sys_execve(const char *path, char **argv, char **envp) {
  return (int)result(execve(path, argv, envp));
}
static int sys_kill(int pid, int sig) { return (int)result(kill(pid, sig)); }
static int sys_set_cloexec(int fd) { return (int)result(fcntl(fd, F_SETFD, FD_CLOEXEC)); }
static int sys_wait4(int pid, int *status, int options) {
  return (int)result(waitpid(pid, status, options));
}
static int sys_set_sigmask(const sys_sigset *set) { return (int)result(sigprocmask(SIG_SETMASK, set, NULL)); }
static int sys_wait_signal(const sys_sigset *set) { return (int)result(sigwaitinfo(set, NULL)); }
static const char *sys_strerror(int err) { return strerror(err); }

int main(int argc, char **argv, char **envp) { return SYS_MAIN(argc, argv, envp); }

#endif /* PAUSE_NOLIBC */
#endif /* PAUSE_SYS_H */
