/*
 * fake-loader: what a container plants at /lib64/ld-linux-x86-64.so.2 to
 * run code inside the host's node binary (CVE-2019-5736's route). If the
 * kernel ever loads node from /proc/self/exe inside a container, node's
 * interpreter is this: it says whose binary /proc/self/exe is, and tries a
 * chmod of it to its own mode (a change of nothing but its ctime: the
 * attack would make it setuid). Then it exits 42. Never runs otherwise.
 *
 * x86_64 only, no libc (as an interpreter it gets node's auxv, which a libc
 * start-up would misread): built -nostdlib -static-pie.
 */
typedef unsigned long u64;

static long sc(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

static void put(const char *s) {
  long n = 0;
  while (s[n]) n++;
  sc(1, 1, (long)s, n); /* write */
}

static void put_num(long v) {
  char buf[24];
  int i = 23;
  int neg = v < 0;
  u64 u = neg ? (u64)-v : (u64)v;
  buf[i] = '\0';
  do {
    buf[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) buf[--i] = '-';
  put(buf + i);
}

__attribute__((used, noreturn)) void fake_main(void) {
  static const char exe[] = "/proc/self/exe";
  u64 st[18]; /* struct stat on x86_64: 144 bytes */
  long rc = sc(4, (long)exe, (long)st, 0); /* stat */
  put("LOADER RAN: exe dev ");
  put_num(rc < 0 ? rc : (long)st[0]);
  put(" ino ");
  put_num(rc < 0 ? 0 : (long)st[1]);
  unsigned mode = rc < 0 ? 0755 : (unsigned)(st[3] & 0xffffffff) & 07777; /* st_mode after st_nlink */
  put(" chmod ");
  put_num(sc(90, (long)exe, mode, 0)); /* chmod: 0 or -errno */
  put("\n");
  for (;;) sc(231, 42, 0, 0); /* exit_group */
}

__asm__(".text\n.global _start\n_start:\n  and $-16, %rsp\n  call fake_main\n  hlt\n");
