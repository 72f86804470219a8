/*
 * seccomp-probe: system calls a seccomp profile decides, made from inside a
 * container by its own process. Built static by the seccomp tests.
 *
 * Each command prints one line, "<command>: OK" or "<command>: <ERRNO NAME>";
 * several may be given, separated by "--". On x86-64, the *-i386 commands
 * enter the kernel through int 0x80, the i386 ABI a filter must cover too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long rc) {
  if (rc < 0) printf("%s: %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
  else printf("%s: OK\n", what);
}

#ifdef __x86_64__
/* The i386 ABI from a 64-bit process: int 0x80 with i386 numbers. */
static long i386_call(long nr, long a, long b) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}
#endif

static void status(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Seccomp", 7)) fputs(line, stdout);
  }
  fclose(f);
}

static void run(int argc, char **argv) {
  const char *cmd = argv[0];
  const char *a1 = argc > 1 ? argv[1] : "";
  char label[128];
  if (!strcmp(cmd, "io_uring_setup")) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = syscall(SYS_io_uring_setup, 1, &p);
    report(cmd, fd);
    if (fd >= 0) close((int)fd);
  } else if (!strcmp(cmd, "userfaultfd")) {
    /* The user-mode-only flag is what an unprivileged process may ask for. */
    report(cmd, syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
  } else if (!strcmp(cmd, "keyctl")) {
    report(cmd, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  } else if (!strcmp(cmd, "add_key")) {
    report(cmd, syscall(SYS_add_key, "user", "peapod", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  } else if (!strcmp(cmd, "request_key")) {
    report(cmd, syscall(SYS_request_key, "user", "peapod", NULL, 0));
  } else if (!strcmp(cmd, "personality")) { /* personality HEX */
    snprintf(label, sizeof label, "personality %s", a1);
    report(label, syscall(SYS_personality, strtoul(a1, NULL, 16)));
  } else if (!strcmp(cmd, "socket")) { /* socket FAMILY */
    snprintf(label, sizeof label, "socket %s", a1);
    long fd = socket(atoi(a1), SOCK_STREAM, 0);
    report(label, fd);
    if (fd >= 0) close((int)fd);
  } else if (!strcmp(cmd, "unshare-mnt")) {
    report(cmd, unshare(CLONE_NEWNS));
  } else if (!strcmp(cmd, "mknod-char")) { /* /dev/mem's numbers */
    report(cmd, mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
  } else if (!strcmp(cmd, "mkfifo")) {
    report(cmd, mknod("/tmp/fifo", S_IFIFO | 0600, 0));
  } else if (!strcmp(cmd, "mkdir")) {
    report(cmd, mkdir("/tmp/made", 0700));
#ifdef __x86_64__
  } else if (!strcmp(cmd, "getpid-i386")) {
    long pid = i386_call(20, 0, 0);
    if (pid >= 0 && pid != getpid()) pid = -1, errno = EINVAL;
    report(cmd, pid);
  } else if (!strcmp(cmd, "io_uring_setup-i386")) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    report(cmd, i386_call(425, 1, (long)&p));
#endif
  } else if (!strcmp(cmd, "status")) {
    status();
  } else if (!strcmp(cmd, "getppid-loop")) { /* getppid-loop N: the cost of a cheap call */
    long n = atol(a1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("getppid-loop: %ld calls, %.1f ns/call\n", n, n > 0 ? ns / n : 0);
  } else if (!strcmp(cmd, "pause")) {
    fflush(stdout);
    for (;;) pause();
  } else {
    printf("%s: unknown command\n", cmd);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  int start = 1;
  for (int i = 1; i <= argc; i++) {
    if (i == argc || !strcmp(argv[i], "--")) {
      if (i > start) run(i - start, argv + start);
      start = i + 1;
    }
  }
  return 0;
}
