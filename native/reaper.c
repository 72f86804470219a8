/*
 * peapod-reaper: the parent of a node daemon, and what the daemon's pods
 * fall to when it dies.
 *
 *   peapod-reaper LOG PROGRAM [ARG...]
 *
 * It makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), starts
 * PROGRAM (the Node daemon) as its child, and from then on reaps every
 * process that ends below it. The daemon reaps the pods it starts itself,
 * as long as it lives; when it dies, the kernel hands its children (every
 * pause, every container) to this process, the nearest subreaper above
 * them. Their exits would otherwise go to PID 1, and the exit code of a
 * container that ended while no daemon ran would be lost: the kernel tells
 * it only to a parent. So each child reaped here is written to LOG, one
 * line each, appended in one write:
 *
 *   reaper PID STARTTIME          (first: who writes this log)
 *   PID STARTTIME exit CODE       (a child that exited)
 *   PID STARTTIME signal N        (a child killed by a signal)
 *
 * STARTTIME is field 22 of /proc/PID/stat, read from the zombie before it
 * is reaped (waitid WNOWAIT, then waitid), so a pid reused later is never
 * taken for the process the next daemon adopted.
 *
 * SIGTERM, SIGINT, SIGHUP and SIGQUIT go to the daemon while it runs. The
 * reaper exits once nothing is left below it (the daemon gone and every
 * pod it held ended), with the daemon's exit code. Like pause it has no
 * libc (reaper_sys.h), keeps every signal blocked and takes the ones it
 * wants with rt_sigtimedwait: a few KiB resident, one per daemon start.
 */
#define SYS_MAIN reaper_main
#include "reaper_sys.h"

#include <stdarg.h> /* the compiler's, not libc's */

static int log_fd = -1;

static unsigned long length(const char *s) {
  unsigned long n = 0;
  while (s[n]) n++;
  return n;
}

/* Appends the decimal digits of n to buf at *len. */
static void put_number(char *buf, unsigned long *len, unsigned long long n) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = (char)('0' + n % 10);
    n /= 10;
  } while (n > 0);
  while (count > 0) buf[(*len)++] = digits[--count];
}

static void put_text(char *buf, unsigned long *len, const char *s) {
  while (*s) buf[(*len)++] = *s++;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), or 0 when it cannot be read. */
static unsigned long long start_time(int pid) {
  char path[40];
  unsigned long len = 0;
  put_text(path, &len, "/proc/");
  put_number(path, &len, (unsigned long long)pid);
  put_text(path, &len, "/stat");
  path[len] = '\0';
  int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  char stat[1024];
  long n = sys_read(fd, stat, sizeof stat - 1);
  sys_close(fd);
  if (n <= 0) return 0;
  /* "pid (comm) S ppid ...": comm may hold anything, so from its last ')'. */
  long paren = -1;
  for (long i = 0; i < n; i++)
    if (stat[i] == ')') paren = i;
  if (paren < 0) return 0;
  int field = 2;
  unsigned long long value = 0;
  for (long i = paren + 1; i < n; i++) {
    if (stat[i] == ' ') {
      if (++field > 22) break;
      continue;
    }
    if (field == 22) value = value * 10 + (unsigned long long)(stat[i] - '0');
  }
  return value;
}

/* One line of the log, in one write (O_APPEND: lines never interleave). */
static void record(int pid, unsigned long long started, const char *what, int value) {
  char line[96];
  unsigned long len = 0;
  put_number(line, &len, (unsigned long long)pid);
  line[len++] = ' ';
  put_number(line, &len, started);
  line[len++] = ' ';
  put_text(line, &len, what);
  line[len++] = ' ';
  put_number(line, &len, (unsigned long long)value);
  line[len++] = '\n';
  sys_write(log_fd, line, len);
}

static void say(int fd, const char *a, const char *b, const char *c) {
  sys_write(fd, a, length(a));
  sys_write(fd, b, length(b));
  sys_write(fd, c, length(c));
}

/*
 * Reaps every child that has exited, recording each. Returns 1 once no
 * child is left at all, 0 while some still run.
 */
static int reap_all(int daemon, int *daemon_code) {
  for (;;) {
    int pid = 0, code = 0, status = 0;
    int rc = sys_waitid(SYS_P_ALL, 0, SYS_WEXITED | WNOHANG | SYS_WNOWAIT | SYS_WALL, &pid, &code, &status);
    if (rc == -ECHILD) return 1;
    if (rc == -EINTR) continue;
    if (rc < 0 || pid == 0) return 0;
    /* Still a zombie: its start time is there to read. */
    unsigned long long started = start_time(pid);
    int reaped = 0;
    rc = sys_waitid(SYS_P_PID, pid, SYS_WEXITED | WNOHANG | SYS_WALL, &reaped, &code, &status);
    if (rc < 0 || reaped != pid) continue;
    if (code == SYS_CLD_EXITED) record(pid, started, "exit", status);
    else record(pid, started, "signal", status);
    if (pid == daemon) *daemon_code = code == SYS_CLD_EXITED ? status : 128 + status;
  }
}

static int reaper_main(int argc, char **argv, char **envp) {
  if (argc < 3) {
    say(2, "usage: peapod-reaper LOG PROGRAM [ARG...]\n", "", "");
    return 2;
  }
  int rc = sys_prctl(SYS_PR_SET_CHILD_SUBREAPER, 1);
  if (rc < 0) {
    say(2, "peapod-reaper: prctl PR_SET_CHILD_SUBREAPER: ", sys_strerror(-rc), "\n");
    return 1;
  }
  log_fd = sys_open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    say(2, "peapod-reaper: open ", argv[1], ": ");
    say(2, sys_strerror(-log_fd), "\n", "");
    return 1;
  }
  {
    char line[64];
    unsigned long len = 0;
    int self = sys_getpid();
    put_text(line, &len, "reaper ");
    put_number(line, &len, (unsigned long long)self);
    line[len++] = ' ';
    put_number(line, &len, start_time(self));
    line[len++] = '\n';
    sys_write(log_fd, line, len);
  }

  sys_sigset all;
  sigset_all(&all);
  sys_set_sigmask(&all);
  int daemon = sys_fork();
  if (daemon < 0) {
    say(2, "peapod-reaper: fork: ", sys_strerror(-daemon), "\n");
    return 1;
  }
  if (daemon == 0) {
    sys_sigset none;
    sigset_none(&none);
    sys_set_sigmask(&none);
    int err = -sys_execve(argv[2], argv + 2, envp);
    say(2, "peapod-reaper: exec ", argv[2], ": ");
    say(2, sys_strerror(err), "\n", "");
    sys_exit(127);
  }

  /* The daemon has the launcher's stdio and pipes; the reaper keeps none of
   * them open (a pipe held here would never tell its reader the daemon is gone). */
  if (log_fd > 0) sys_close_range(0, (unsigned)log_fd - 1);
  sys_close_range((unsigned)log_fd + 1, ~0U);
  if (sys_chdir("/") < 0) return 1;

  sys_sigset wanted;
  sigset_none(&wanted);
  sigset_add(&wanted, SIGCHLD);
  sigset_add(&wanted, SIGTERM);
  sigset_add(&wanted, SIGINT);
  sigset_add(&wanted, SIGHUP);
  sigset_add(&wanted, SIGQUIT);
  int daemon_code = -1;
  for (;;) {
    int sig = sys_wait_signal(&wanted);
    if (sig < 0) continue; /* EINTR: a stop, a freeze */
    if (sig != SIGCHLD) {
      if (daemon_code < 0) sys_kill(daemon, sig);
      continue;
    }
    if (reap_all(daemon, &daemon_code)) return daemon_code < 0 ? 0 : daemon_code;
  }
}
