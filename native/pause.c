/*
 * pause: PID 1 of a peapod pod. It holds the pod's PID, network, IPC and UTS
 * namespaces open simply by being alive, and as the namespace's init it
 * adopts every orphan, so it reaps them. SIGTERM or SIGINT ends it with 0,
 * and with it (the kernel sees to that) every process of the pod.
 *
 * It is started with every signal blocked, and never unblocks one: it
 * takes SIGTERM, SIGINT and SIGCHLD with rt_sigtimedwait. A signal sent to
 * a namespace's PID 1 is dropped only if it is unblocked with no handler;
 * a blocked one stays pending until taken, so none is lost, not even one
 * sent the instant pause starts. And with no handler there is nothing
 * asynchronous at all: no async-signal-safety to think about, no restorer
 * for the kernel to return through (pause runs without libc, see
 * pause_sys.h). The signals it does not wait for stay blocked and pending
 * for ever, as good as ignored, which is what PID 1 does with them anyway.
 *
 * `pause --init N CANDIDATE... ARGV...` is the init of a container that has
 * a PID namespace of its own (shareProcessNamespace: false): it starts ARGV
 * as its child (the first of the N candidate paths that exists), forwards
 * every signal it gets to it, reaps every orphan, and exits as the child
 * does (128+N for a signal, as the shell says it). Signals stay blocked
 * there too, for the same reason.
 *
 * `pause --exec FD N CANDIDATE... ARGV...` is how every process of a
 * container starts: peapod's spawn child (a clone of Node, whose
 * /proc/self/exe is the host's node binary) execs pause from a private
 * read-only mount, and pause execs the command. Whatever the command is (a
 * script whose interpreter is /proc/self/exe, /proc/self/exe itself),
 * the kernel then finds pause, read-only and static, where it would have
 * found the host's node (CVE-2019-5736). If no candidate can be exec'd,
 * the errno goes to FD as 4 bytes for peapod to report, and pause exits
 * 127 (not found) or 126. On success FD closes by itself (CLOEXEC).
 */
#include "pause_sys.h" /* first: it includes libc, if the build uses one */

#include <stdarg.h> /* the compiler's, not libc's */

#define PAUSE_VERSION "peapod-pause 0.1.0"

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* Writes the strings up to a NULL to fd: a message is one write, unless long. */
static void say(int fd, ...) {
  char buf[512];
  unsigned long len = 0;
  va_list parts;
  va_start(parts, fd);
  for (const char *s; (s = va_arg(parts, const char *)) != 0;) {
    for (; *s; s++) {
      if (len == sizeof buf) {
        sys_write(fd, buf, len);
        len = 0;
      }
      buf[len++] = *s;
    }
  }
  va_end(parts);
  sys_write(fd, buf, len);
}

/* A count of decimal digits only, at most max; -1 for anything else. */
static long parse_count(const char *s, long max) {
  long n = 0;
  if (*s == '\0') return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    n = n * 10 + (*s - '0');
    if (n > max) return -1;
  }
  return n;
}

/* Every child that has exited, reaped; returns once none is left to reap now. */
static void reap_all(void) {
  for (;;) {
    int pid = sys_wait4(-1, 0, WNOHANG);
    if (pid > 0 || pid == -EINTR) continue;
    return; /* 0: children left but none exited; -ECHILD: none left */
  }
}

static int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Like execvp over the candidates; returns the errno to report when none ran. */
static int try_candidates(char **candidates, long n, char **cmd, char **envp) {
  int err = ENOENT;
  for (long i = 0; i < n; i++) {
    int r = -sys_execve(candidates[i], cmd, envp);
    /* Keep looking past missing entries, remember EACCES. */
    if (r == EACCES) err = EACCES;
    else if (r != ENOENT && r != ENOTDIR) err = r;
  }
  return err;
}

/* In the child of `--init`: the command gets a clean signal mask, as from a shell. */
__attribute__((noreturn)) static void exec_candidates(char **candidates, long n, char **cmd, char **envp) {
  sys_sigset none;
  sigset_none(&none);
  sys_set_sigmask(&none);
  int err = try_candidates(candidates, n, cmd, envp);
  say(2, "pause --init: exec ", cmd[0], ": ", sys_strerror(err), "\n", (char *)0);
  sys_exit(err == ENOENT ? 127 : 126);
}

static int run_exec(int argc, char **argv, char **envp) {
  long fd = argc > 2 ? parse_count(argv[2], 1 << 20) : -1;
  long n = argc > 3 ? parse_count(argv[3], argc) : -1;
  if (fd < 3 || n < 0 || 4 + n >= argc) {
    say(2, "usage: pause --exec FD N CANDIDATE... ARGV...\n", (char *)0);
    return 2;
  }
  if (sys_set_cloexec((int)fd) < 0) return 2;
  int err = try_candidates(argv + 4, n, argv + 4 + n, envp);
  sys_write((int)fd, &err, sizeof err);
  return err == ENOENT ? 127 : 126;
}

static int run_init(int argc, char **argv, char **envp) {
  long n = argc > 2 ? parse_count(argv[2], argc) : -1;
  if (n < 0 || 3 + n >= argc) {
    say(2, "usage: pause --init N CANDIDATE... ARGV...\n", (char *)0);
    return 2;
  }
  char **candidates = argv + 3;
  char **cmd = argv + 3 + n;

  sys_sigset all;
  sigset_all(&all);
  sys_set_sigmask(&all);
  int child = sys_fork();
  if (child < 0) {
    say(2, "pause --init: fork: ", sys_strerror(-child), "\n", (char *)0);
    return 2;
  }
  if (child == 0) exec_candidates(candidates, n, cmd, envp);

  for (;;) {
    int sig = sys_wait_signal(&all);
    if (sig < 0) continue; /* EINTR: a stop, a freeze */
    if (sig != SIGCHLD) {
      /* ESRCH: it has just exited, and its SIGCHLD is on the way. */
      int rc = sys_kill(child, sig);
      if (rc < 0 && rc != -ESRCH) say(2, "pause --init: kill: ", sys_strerror(-rc), "\n", (char *)0);
      continue;
    }
    for (;;) {
      int status;
      int pid = sys_wait4(-1, &status, WNOHANG);
      if (pid == -EINTR) continue;
      if (pid <= 0) break;
      /* The container ends with its main process; the kernel ends the rest. */
      if (pid == child) return exit_code_of(status);
    }
  }
}

static int pause_main(int argc, char **argv, char **envp) {
  if (argc > 1 && same(argv[1], "--exec")) return run_exec(argc, argv, envp);
  if (argc > 1 && same(argv[1], "--init")) return run_init(argc, argv, envp);
  if (argc > 1 && (same(argv[1], "-v") || same(argv[1], "--version"))) {
    say(1, PAUSE_VERSION "\n", (char *)0);
    return 0;
  }
  /* Anything else is a mistake, or pause run as a script's interpreter
   * (#!/proc/self/exe): say so and end, rather than wait for ever. */
  if (argc > 1) {
    say(2, "usage: pause [-v] | --init N CANDIDATE... ARGV... | --exec FD N CANDIDATE... ARGV...\n", (char *)0);
    return 2;
  }
  if (sys_getpid() != 1) say(2, "pause: warning: not PID 1; orphans will not be reaped here\n", (char *)0);

  /* Holds no fd at all: nothing of its launcher (a terminal, a pipe, a
   * file) stays open for as long as the pod lives. */
  if (sys_close_range(0, ~0U) < 0) {
    /* A kernel before 5.9: close what any launcher could have left. */
    for (int fd = 0; fd < 1024; fd++) sys_close(fd);
  }
  if (sys_chdir("/") < 0) return 2;

  /* Already so when peapod starts it; made sure of when run by hand. */
  sys_sigset all;
  sigset_all(&all);
  if (sys_set_sigmask(&all) < 0) return 3;

  sys_sigset wanted;
  sigset_none(&wanted);
  sigset_add(&wanted, SIGTERM);
  sigset_add(&wanted, SIGINT);
  sigset_add(&wanted, SIGCHLD);

  reap_all(); /* children it may have been given before it started waiting */
  for (;;) {
    int sig = sys_wait_signal(&wanted);
    if (sig == SIGTERM || sig == SIGINT) return 0;
    if (sig == SIGCHLD) reap_all();
    /* < 0, EINTR: a stop, a freeze; wait again */
  }
}
