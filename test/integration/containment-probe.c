/*
 * containment-probe: escape attempts, made from inside a container by the
 * container's own process (nsenter from the host would carry the host's
 * capabilities, not the container's). Built static by the containment tests.
 *
 * Each command makes one system call (or one classic sequence) and prints
 * one line, "<command>: OK" or "<command>: <ERRNO NAME>", so the tests can
 * assert the exact errno. Several commands may be given, separated by "--".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EFAULT: return "EFAULT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EXDEV: return "EXDEV";
    case ELOOP: return "ELOOP";
    case EADDRINUSE: return "EADDRINUSE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOKEY: return "ENOKEY";
    case ENOTTY: return "ENOTTY";
    case EIO: return "EIO";
    case ETXTBSY: return "ETXTBSY";
    default: return "E?";
  }
}

static void report(const char *what, long rc) {
  if (rc < 0) printf("%s: %s\n", what, errname(errno));
  else printf("%s: OK\n", what);
}

static void caps_line(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8)) fputs(line, stdout);
  }
  if (f) fclose(f);
}

/* One command; returns the number of arguments it used. */
static int run(int argc, char **argv) {
  const char *cmd = argv[0];
  const char *a1 = argc > 1 ? argv[1] : "";
  const char *a2 = argc > 2 ? argv[2] : "";
  const char *a3 = argc > 3 ? argv[3] : "";
  const char *a4 = argc > 4 ? argv[4] : "";
  if (!strcmp(cmd, "whoami")) {
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("whoami: uid=%d euid=%d gid=%d egid=%d groups=", getuid(), geteuid(), getgid(), getegid());
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", groups[i]);
    printf("\n");
    return 1;
  }
  if (!strcmp(cmd, "caps")) {
    caps_line();
    return 1;
  }
  if (!strcmp(cmd, "mount")) { /* mount FSTYPE SOURCE TARGET */
    report("mount", mount(a2, a3, a1, 0, NULL));
    return 4;
  }
  if (!strcmp(cmd, "bind")) { /* bind SOURCE TARGET */
    report("bind", mount(a1, a2, NULL, MS_BIND, NULL));
    return 3;
  }
  if (!strcmp(cmd, "umount")) {
    report("umount", umount2(a1, MNT_DETACH));
    return 2;
  }
  if (!strcmp(cmd, "pivot_root")) {
    report("pivot_root", syscall(SYS_pivot_root, a1, a2));
    return 3;
  }
  if (!strcmp(cmd, "unshare-user")) {
    report("unshare-user", unshare(CLONE_NEWUSER));
    return 1;
  }
  if (!strcmp(cmd, "unshare-mnt")) {
    report("unshare-mnt", unshare(CLONE_NEWNS));
    return 1;
  }
  if (!strcmp(cmd, "clone3")) {
    report("clone3", syscall(SYS_clone3, NULL, 0));
    return 1;
  }
  if (!strcmp(cmd, "init_module")) {
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    return 1;
  }
  if (!strcmp(cmd, "finit_module")) {
    report("finit_module", syscall(SYS_finit_module, -1, "", 0));
    return 1;
  }
  if (!strcmp(cmd, "reboot")) {
    /* CAD_OFF: harmless even where it is allowed; EPERM without CAP_SYS_BOOT. */
    report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
    return 1;
  }
  if (!strcmp(cmd, "sethostname")) {
    report("sethostname", sethostname(a1, strlen(a1)));
    return 2;
  }
  if (!strcmp(cmd, "raw-socket")) {
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    report("raw-socket", fd);
    if (fd >= 0) close(fd);
    return 1;
  }
  if (!strcmp(cmd, "packet-socket")) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    report("packet-socket", fd);
    if (fd >= 0) close(fd);
    return 1;
  }
  if (!strcmp(cmd, "bind-port")) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(a1));
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    report("bind-port", bind(fd, (struct sockaddr *)&sa, sizeof sa));
    close(fd);
    return 2;
  }
  if (!strcmp(cmd, "setuid")) {
    report("setuid", setuid((uid_t)atoi(a1)));
    return 2;
  }
  if (!strcmp(cmd, "setgroups")) {
    gid_t g = 0;
    report("setgroups", setgroups(1, &g));
    return 1;
  }
  if (!strcmp(cmd, "mknod")) { /* mknod PATH b|c MAJOR MINOR */
    mode_t type = a2[0] == 'b' ? S_IFBLK : a2[0] == 'c' ? S_IFCHR : S_IFIFO;
    report("mknod", mknod(a1, type | 0600, makedev(atoi(a3), atoi(a4))));
    return 5;
  }
  if (!strcmp(cmd, "kill")) { /* kill PID SIG */
    report("kill", kill(atoi(a1), atoi(a2)));
    return 3;
  }
  if (!strcmp(cmd, "ptrace")) {
    report("ptrace", ptrace(PTRACE_ATTACH, atoi(a1), NULL, NULL));
    return 2;
  }
  if (!strcmp(cmd, "write")) { /* write PATH DATA */
    int fd = open(a1, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      report("write", -1);
      return 3;
    }
    long rc = write(fd, a2, strlen(a2));
    int saved = errno;
    if (close(fd) < 0 && rc >= 0) rc = -1;
    else errno = saved;
    report("write", rc);
    return 3;
  }
  if (!strcmp(cmd, "read")) { /* read PATH: prints the number of bytes */
    int fd = open(a1, O_RDONLY);
    if (fd < 0) {
      report("read", -1);
      return 2;
    }
    char buf[4096];
    long total = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    if (n < 0) report("read", -1);
    else printf("read: %ld bytes\n", total);
    close(fd);
    return 2;
  }
  if (!strcmp(cmd, "ls")) { /* ls DIR: entries, sorted by the test */
    DIR *d = opendir(a1);
    if (!d) {
      report("ls", -1);
      return 2;
    }
    printf("ls:");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf(" %s", e->d_name);
    }
    printf("\n");
    closedir(d);
    return 2;
  }
  if (!strcmp(cmd, "stat")) {
    struct stat st;
    report("stat", stat(a1, &st));
    return 2;
  }
  if (!strcmp(cmd, "readlink")) {
    char buf[4096];
    long n = readlink(a1, buf, sizeof buf - 1);
    if (n < 0) report("readlink", -1);
    else printf("readlink: %.*s\n", (int)n, buf);
    return 2;
  }
  if (!strcmp(cmd, "chown")) { /* chown PATH UID GID */
    report("chown", chown(a1, (uid_t)atoi(a2), (gid_t)atoi(a3)));
    return 4;
  }
  if (!strcmp(cmd, "open-by-handle")) {
    /* "shocker": a file handle opened without a path needs CAP_DAC_READ_SEARCH. */
    struct { struct file_handle fh; unsigned char bytes[128]; } h;
    int mount_id;
    h.fh.handle_bytes = 128;
    /* /dev is a tmpfs, which hands out handles (an overlay root does not). */
    if (name_to_handle_at(AT_FDCWD, "/dev", &h.fh, &mount_id, 0) < 0) {
      report("open-by-handle", -1);
      return 1;
    }
    int fd = open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY);
    report("open-by-handle", fd);
    if (fd >= 0) close(fd);
    return 1;
  }
  if (!strcmp(cmd, "chroot-escape")) { /* chroot-escape HOSTPATH */
    /* The classic: chroot into a subdirectory while keeping the cwd above it,
     * climb with "..", chroot("."). Inside pivot_root, ".." of / is /. */
    mkdir("/tmp/jail", 0755);
    int up = open("/", O_RDONLY | O_DIRECTORY);
    long rc = chroot("/tmp/jail");
    if (rc == 0 && up >= 0 && fchdir(up) == 0) {
      for (int i = 0; i < 64; i++) {
        if (chdir("..") < 0) break;
      }
      rc = chroot(".");
    }
    if (rc < 0) {
      report("chroot-escape", -1);
      return 2;
    }
    struct stat st;
    report("chroot-escape", stat(a1, &st));
    return 2;
  }
  if (!strcmp(cmd, "fds")) {
    /* Every open fd, and whether any is a directory to fchdir() out through. */
    printf("fds:");
    for (int fd = 0; fd < 1024; fd++) {
      struct stat st;
      if (fstat(fd, &st) < 0) continue;
      printf(" %d%s", fd, S_ISDIR(st.st_mode) ? "(dir)" : "");
    }
    printf("\n");
    return 1;
  }
  if (!strcmp(cmd, "setns")) {
    int fd = open(a1, O_RDONLY);
    if (fd < 0) {
      report("setns", -1);
      return 2;
    }
    report("setns", setns(fd, 0));
    close(fd);
    return 2;
  }
  if (!strcmp(cmd, "chmod")) { /* chmod PATH OCTAL */
    report("chmod", chmod(a1, (mode_t)strtol(a2, NULL, 8)));
    return 3;
  }
  if (!strcmp(cmd, "open-write")) {
    int fd = open(a1, O_WRONLY);
    report("open-write", fd);
    if (fd >= 0) close(fd);
    return 2;
  }
  if (!strcmp(cmd, "tiocsti")) { /* tiocsti TEXT: TEXT typed into fds 0-2 and /dev/tty, as at a keyboard */
    for (int fd = 0; fd < 3; fd++) {
      long rc = 0;
      for (const char *c = a1; *c && rc == 0; c++) rc = ioctl(fd, TIOCSTI, c);
      char what[32];
      snprintf(what, sizeof what, "tiocsti %d", fd);
      report(what, rc);
    }
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    report("open /dev/tty", tty);
    if (tty >= 0) close(tty);
    return 2;
  }
  if (!strcmp(cmd, "tiocsti-later")) { /* tiocsti-later TEXT MS: the same, from a child left behind, MS later */
    if (fork() == 0) {
      struct timespec ts = {atol(a2) / 1000, (atol(a2) % 1000) * 1000000L};
      nanosleep(&ts, NULL);
      for (int fd = 0; fd < 3; fd++)
        for (const char *c = a1; *c; c++) ioctl(fd, TIOCSTI, c);
      _exit(0);
    }
    printf("tiocsti-later: left behind\n");
    return 3;
  }
  if (!strcmp(cmd, "keys")) { /* keys DESCRIPTION: a user key of that name in any keyring reachable? */
    static const struct { const char *name; long spec; } rings[] = {
        {"session", KEY_SPEC_SESSION_KEYRING}, {"user-session", KEY_SPEC_USER_SESSION_KEYRING}, {"user", KEY_SPEC_USER_KEYRING}};
    for (unsigned i = 0; i < sizeof rings / sizeof rings[0]; i++) {
      char what[64];
      snprintf(what, sizeof what, "search %s", rings[i].name);
      long id = syscall(SYS_keyctl, KEYCTL_SEARCH, rings[i].spec, "user", a1, 0);
      if (id < 0) {
        report(what, -1);
        continue;
      }
      char buf[256];
      long n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
      buf[n < 0 ? 0 : n < 255 ? n : 255] = '\0';
      printf("%s: found, reads \"%s\"\n", what, buf);
    }
    return 2;
  }
  if (!strcmp(cmd, "add-key")) { /* add-key DESCRIPTION PAYLOAD: into the session keyring */
    report("add-key", syscall(SYS_add_key, "user", a1, a2, strlen(a2), KEY_SPEC_SESSION_KEYRING));
    return 3;
  }
  if (!strcmp(cmd, "watch-roots")) { /* watch-roots PATH MS: every process, looked into as /proc/PID/root/PATH */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long ms = atol(a2), scans = 0, leaks = 0;
    char path[512];
    for (;;) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= ms) break;
      DIR *d = opendir("/proc");
      if (!d) break;
      for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/root%s", e->d_name, a1);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
          leaks++;
          printf("LEAK through /proc/%s/root\n", e->d_name);
          close(fd);
        }
      }
      closedir(d);
      scans++;
    }
    printf("watch-roots: %s, %ld leaks\n", scans > 100 ? "many scans" : "few scans", leaks);
    return 3;
  }
  fprintf(stderr, "probe: unknown command %s\n", cmd);
  exit(2);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int i = 1;
  while (i < argc) {
    int end = i;
    while (end < argc && strcmp(argv[end], "--") != 0) end++;
    run(end - i, argv + i);
    i = end + 1;
  }
  return 0;
}
