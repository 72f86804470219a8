// RuntimeDefault: the behaviour of the default profile Docker, containerd
// and podman share (Kubernetes' RuntimeDefault), written here as data and
// compiled by the same compiler as any Localhost profile.
//
// An allowlist: every call not named fails with EPERM. What it leaves out on
// purpose: kernel keyrings (keyctl, add_key, request_key: not namespaced),
// io_uring (its ring runs calls no filter sees), userfaultfd (a tool to win
// kernel races; with SYS_PTRACE only), new namespaces (clone with namespace
// flags, unshare, setns: CAP_SYS_ADMIN only; clone3 answers ENOSYS so libc
// falls back to clone, whose flags a filter can read), mounts, modules,
// reboot, the clock, BPF, perf, personality other than the usual values,
// AF_VSOCK sockets (a way out of a VM to its host). Calls a capability
// makes useful are allowed when the container holds that capability.
//
// Only the architectures peapod has tables for are written out (x86 and
// arm); Docker's groups for ppc64le, s390 and riscv are left out.
import type { SeccompArg, SeccompProfile, SeccompRule } from './profile.js';

const ALLOWED = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd
getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set
io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat
lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat
mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd
msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2
pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64
pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64
recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range
syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev`;

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
const allow = (names: string, extra: Partial<SeccompRule> = {}): SeccompRule => ({ names: words(names), action: 'SCMP_ACT_ALLOW', ...extra });
const withCap = (cap: string, names: string): SeccompRule => allow(names, { includes: { caps: [`CAP_${cap}`] } });
const arg0 = (op: SeccompArg['op'], value: bigint, valueTwo = 0n): SeccompArg[] => [{ index: 0, value, valueTwo, op }];

const AF_VSOCK = 40n;
// CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP
const CLONE_NAMESPACES = 0x00020000n | 0x04000000n | 0x08000000n | 0x10000000n | 0x20000000n | 0x40000000n | 0x02000000n;
// personality(2): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (a query).
const PERSONALITIES = [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn];
const ENOSYS = 38;

export const RUNTIME_DEFAULT: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    allow(ALLOWED),
    // Safe since Linux 4.8 (ptrace could then no longer get around seccomp).
    allow('process_vm_readv process_vm_writev ptrace', { includes: { minKernel: '4.8' } }),
    // Docker writes this as "arg0 != AF_VSOCK" on all 64 bits; the kernel reads an
    // int, so a family with high bits set would pass that and still be AF_VSOCK.
    { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: arg0('SCMP_CMP_MASKED_EQ', 0xffffffffn, AF_VSOCK) },
    allow('socket'),
    ...PERSONALITIES.map((p) => allow('personality', { args: arg0('SCMP_CMP_EQ', p) })),
    allow('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', { includes: { arches: ['arm', 'arm64'] } }),
    allow('arch_prctl', { includes: { arches: ['amd64', 'x32'] } }),
    allow('modify_ldt', { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    withCap('DAC_READ_SEARCH', 'open_by_handle_at'),
    withCap(
      'SYS_ADMIN',
      `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules
       lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname
       sethostname setns syslog umount umount2 unshare`,
    ),
    // Without CAP_SYS_ADMIN: threads and processes, no new namespace.
    allow('clone', { args: arg0('SCMP_CMP_MASKED_EQ', CLONE_NAMESPACES, 0n), excludes: { caps: ['CAP_SYS_ADMIN'] } }),
    // clone3's flags sit in memory a filter cannot read: ENOSYS, and libc uses clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCap('SYS_BOOT', 'reboot'),
    withCap('SYS_CHROOT', 'chroot'),
    withCap('SYS_MODULE', 'delete_module init_module finit_module'),
    withCap('SYS_PACCT', 'acct'),
    withCap('SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace userfaultfd'),
    withCap('SYS_RAWIO', 'iopl ioperm'),
    withCap('SYS_TIME', 'settimeofday stime clock_settime clock_settime64'),
    withCap('SYS_TTY_CONFIG', 'vhangup'),
    withCap('SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'),
    withCap('SYSLOG', 'syslog'),
    withCap('BPF', 'bpf'),
    withCap('PERFMON', 'perf_event_open'),
  ],
};

const S_IFMT = 0o170000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;

/**
 * peapod's own rule, on top of every profile it installs: mknod and mknodat
 * of a character or block device fail with EPERM. peapod has no devices
 * cgroup, so CAP_MKNOD (in the default set) could otherwise make a node for
 * the host's disk and open it; FIFOs and sockets still work. /dev holds only
 * what the runtime put there.
 */
export const DEVICE_NODE_RULES: SeccompRule[] = [
  ['mknod', 1],
  ['mknodat', 2],
].flatMap(([name, index]) =>
  [S_IFCHR, S_IFBLK].map((type): SeccompRule => ({
    names: [name as string],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: 1,
    args: [{ index: index as number, value: S_IFMT, valueTwo: type, op: 'SCMP_CMP_MASKED_EQ' }],
  })),
);
