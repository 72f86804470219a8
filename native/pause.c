/*
 * pause: PID 1 of a peapod pod. It holds the pod's PID, network, IPC and UTS
 * namespaces open simply by being alive, and as the namespace's init it
 * adopts every orphan, so it reaps them. SIGTERM or SIGINT ends it with 0,
 * and with it (the kernel sees to that) every process of the pod.
 *
 * It is started with every signal blocked: a signal sent to a namespace's
 * PID 1 with no handler installed is dropped, so handlers come first and
 * only then the mask is lifted.
 *
 * `pause --init N CANDIDATE... ARGV...` is the init of a container that has
 * a PID namespace of its own (shareProcessNamespace: false): it starts ARGV
 * as its child (the first of the N candidate paths that exists), forwards
 * every signal it gets to it, reaps every orphan, and exits as the child
 * does (128+N for a signal, as the shell says it). Signals stay blocked and
 * are taken with sigwaitinfo, so none is lost before it is ready.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "peapod-pause 0.1.0"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* Only needs to interrupt sigsuspend; the reaping happens in the loop. */
static void on_child(int sig) { (void)sig; }

static void reap_all(void) {
  for (;;) {
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0) continue;
    if (pid < 0 && errno == EINTR) continue;
    return; /* 0: children left but none exited; -1 ECHILD: none left */
  }
}

static int install(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = handler == on_child ? SA_NOCLDSTOP : 0;
  return sigaction(sig, &sa, NULL);
}

/* Holds no fd at all: nothing of its launcher (a terminal, a pipe, a
 * file) stays open for as long as the pod lives. */
static void close_all_fds(void) {
  syscall(SYS_close_range, 0U, ~0U, 0U);
}

extern char **environ;

static void exec_candidates(char **candidates, int n, char **cmd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int err = ENOENT;
  for (int i = 0; i < n; i++) {
    execve(candidates[i], cmd, environ);
    /* Like execvp: keep looking past missing entries, remember EACCES. */
    if (errno == EACCES) err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  fprintf(stderr, "pause --init: exec %s: %s\n", cmd[0], strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

static int run_init(int argc, char **argv) {
  char *end = NULL;
  long n = argc > 2 ? strtol(argv[2], &end, 10) : -1;
  if (n < 0 || end == argv[2] || *end != '\0' || 3 + n >= argc) {
    fprintf(stderr, "usage: pause --init N CANDIDATE... ARGV...\n");
    return 2;
  }
  char **candidates = argv + 3;
  char **cmd = argv + 3 + n;

  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  pid_t child = fork();
  if (child < 0) {
    perror("pause --init: fork");
    return 2;
  }
  if (child == 0) exec_candidates(candidates, (int)n, cmd);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      /* The container ends with its main process; the kernel ends the rest. */
      if (pid == child) return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--init") == 0) return run_init(argc, argv);
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("%s\n", PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not PID 1; orphans will not be reaped here\n");

  close_all_fds();
  if (chdir("/") < 0) return 2;
  if (install(SIGTERM, on_stop) < 0 || install(SIGINT, on_stop) < 0 ||
      install(SIGCHLD, on_child) < 0) {
    return 3;
  }

  /* Everything else stays blocked for ever: PID 1 ignores what it has no
   * handler for anyway, and blocking keeps the wakeups to the three above. */
  sigset_t waiting;
  sigfillset(&waiting);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);
  sigdelset(&waiting, SIGCHLD);

  sigset_t blocked;
  sigfillset(&blocked);
  sigprocmask(SIG_SETMASK, &blocked, NULL);

  reap_all(); /* children that exited before the handler existed */
  while (!stop_requested) {
    sigsuspend(&waiting);
    reap_all();
  }
  return 0;
}
