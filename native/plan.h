// The in-memory form of a spawn plan: everything the cloned child needs,
// laid out before clone() so the child never allocates.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace peapod {

// Every op once: its enum name, the name JS gives it, the words an error
// uses for it. The enum, the JS decoder and the describer derive from this.
//   fields: a, b, c, d strings; n, m, f, g numbers; ints.
#define PEAPOD_OPS(X)                                                                           \
  X(kSetns, "setns", "setns")                 /* a = ns path, n = CLONE_NEW* type */            \
  X(kUnshare, "unshare", "unshare")           /* n = CLONE_NEW* flags */                        \
  X(kMount, "mount", "mount")                 /* a src, b target, c fstype, d data, n flags */  \
  X(kUmount, "umount", "umount")              /* b = target, n = umount2 flags */               \
  X(kMkdir, "mkdir", "mkdir")                 /* b = path, m = mode (EEXIST is success) */      \
  X(kMknod, "mknod", "mknod")                 /* b = path, m = mode, n = dev */                 \
  X(kTouch, "touch", "touch")                 /* b = path, m = mode */                          \
  X(kSymlink, "symlink", "symlink")           /* a = target, b = link path */                   \
  X(kPivotRoot, "pivot_root", "pivot_root")   /* b = new root */                                \
  X(kChdir, "chdir", "chdir")                 /* b = path */                                    \
  X(kSethostname, "sethostname", "sethostname")                                                 \
  X(kLoopbackUp, "loopback_up", "loopback up")                                                  \
  X(kPdeathsig, "pdeathsig", "prctl PR_SET_PDEATHSIG") /* n = signal, f = host /proc fd + 1 */  \
  X(kSetsid, "setsid", "setsid")              /* n = 1: stdin becomes the controlling tty */    \
  X(kSetgroups, "setgroups", "setgroups")     /* ints = gids */                                 \
  X(kSetgid, "setgid", "setgid")                                                                \
  X(kSetuid, "setuid", "setuid")                                                                \
  X(kNoNewPrivs, "no_new_privs", "prctl PR_SET_NO_NEW_PRIVS")                                   \
  X(kWriteFile, "write_file", "write")        /* b = path, a = content */                       \
  X(kUmask, "umask", "umask")                 /* m = mask */                                    \
  X(kOpen, "open", "open")                    /* b = path, n = fd; m = 1: O_RDONLY, else O_PATH */ \
  X(kOpenBeneath, "open_beneath", "open beneath") /* a base (g: its fd + 1), b path, n fd, m mode, f flags */ \
  X(kOpenTree, "open_tree", "open_tree")      /* b = path, or f = fd if b is empty; n = fd */   \
  X(kMoveMount, "move_mount", "move_mount")   /* n = tree fd, f = target fd */                  \
  X(kMountSetattr, "mount_setattr", "mount_setattr") /* n fd, f attr_set, g propagation, m rec */ \
  X(kRemountRo, "remount_ro", "remount read-only") /* b = target */                             \
  X(kMask, "mask", "mask")                    /* b = path, a = the null device */               \
  X(kReadonlyPath, "readonly_path", "read-only path") /* b = path */                            \
  X(kCapbset, "capbset", "prctl PR_CAPBSET_DROP") /* n = capabilities to keep */                \
  X(kKeepCaps, "keepcaps", "prctl PR_SET_KEEPCAPS")                                             \
  X(kCapset, "capset", "capset")              /* ints = 4 masks; m = 1: limit to held */        \
  X(kSeccomp, "seccomp", "seccomp")           /* filter = the BPF program */                    \
  X(kOpenExe, "open_exe", "open read-only binary") /* b = path, n = fd */                       \
  X(kEnterPidNs, "enter_pid_ns", "enter PID namespace") /* n = fd of the namespace */           \
  X(kOpenPty, "open_pty", "open pseudo-terminal") /* n = socket for the master; f rows, g cols */ \
  X(kNewKeyring, "new_session_keyring", "keyctl JOIN_SESSION_KEYRING")                          \
  X(kExec, "exec", "exec") /* candidates, argv, envp; m = 1: execveat(n); f = status fd + 1 */

// The descriptor numbers a plan gives in the child: the pty socket, the exec
// status pipe, then the plan's own, base to max. High enough to stay out of
// stdio's way, low enough for any RLIMIT_NOFILE. src/plan/ops.ts's PLAN_FDS
// is generated from these lines.
constexpr int kPlanFdPtySocket = 98;
constexpr int kPlanFdExecStatus = 99;
constexpr int kPlanFdBase = 100;
constexpr int kPlanFdMax = 999;

enum class Op : int {
#define PEAPOD_OP_ENUM(id, js, text) id,
  PEAPOD_OPS(PEAPOD_OP_ENUM)
#undef PEAPOD_OP_ENUM
};

// open_beneath flags (f).
constexpr unsigned long kBeneathInRoot = 1;     // symlinks resolved inside base, as in a chroot
constexpr unsigned long kBeneathMakeDirs = 2;   // missing components made as directories (mode m)
constexpr unsigned long kBeneathMakeFile = 4;   // ... and a missing last one as an empty file

struct Step {
  Op op;
  std::string a, b, c, d;
  unsigned long n = 0;
  unsigned int m = 0;
  unsigned long f = 0;
  unsigned long g = 0;
  std::vector<long> ints;
  // What an error calls this step, when the JS side named it.
  std::string what;
  // Components of b (open_beneath), a buffer for their prefixes, and the BPF program (seccomp).
  std::vector<std::string> parts;
  std::vector<const char*> parts_p;
  std::string scratch;
  std::vector<struct sock_filter> filter;
  // setgroups takes gid_t (32 bits), not the longs of `ints`.
  std::vector<unsigned int> gids;
  // Pointer arrays into the strings below, NULL-terminated (exec only).
  std::vector<std::string> candidates, argv, envp;
  std::vector<const char*> candidates_p, argv_p, envp_p;
};

struct Plan {
  int clone_flags = 0;          // CLONE_NEW* for new namespaces
  int stdio[3] = {-1, -1, -1};
  bool keep_signals_blocked = false;  // pause unblocks once its handlers exist
  std::vector<Step> steps;
  // Made by the parent before clone() when a step needs them, at numbers no
  // plan gives; the child moves them to the numbers the plan chose.
  int exec_status_fd = -1;      // the plan's number for the exec status pipe
  int exec_status_write = -1;   // the parent's write end
  int pty_socket_fd = -1;       // the plan's number for the pty socket
  int pty_socket_child = -1;    // the child's end of the socketpair
  pid_t spawner = 0;            // who the child's parent must be (PDEATHSIG check)
};

// Filled by the child(ren); shared with the parent through CLONE_VM.
// A failure before the first step (stdio, descriptors, dumpability).
constexpr int kBeforeSteps = -2;

struct ChildResult {
  int step = -1;
  int err = 0;
  // The system call that failed, when a step (or the set-up) makes several.
  const char* call = nullptr;
  // The process that runs the program when a plan enters a PID namespace
  // (a child of the spawner by CLONE_PARENT), else 0.
  pid_t program = 0;
};

const char* OpName(Op op);

// Runs in the cloned child: executes every step from `first`, then exec.
// Returns only on failure (after filling *result); the caller _exit()s.
int RunChild(const Plan* plan, ChildResult* result, size_t first);

}  // namespace peapod
