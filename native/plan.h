// The in-memory form of a spawn plan: everything the cloned child needs,
// laid out before clone() so the child never allocates.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace peapod {

enum class Op : int {
  kSetns,        // a = ns path, n = CLONE_NEW* type
  kUnshare,      // n = CLONE_NEW* flags
  kMount,        // a = source, b = target, c = fstype, d = data, n = flags
  kUmount,       // b = target, n = umount2 flags
  kMkdir,        // b = path, m = mode (EEXIST is success)
  kMknod,        // b = path, m = mode, n = dev
  kTouch,        // b = path, m = mode (creates an empty file if missing)
  kSymlink,      // a = target, b = link path (EEXIST is success)
  kPivotRoot,    // b = new root
  kChdir,        // b = path
  kSethostname,  // a = name
  kLoopbackUp,   // bring "lo" up in the current network namespace
  kPdeathsig,    // n = signal
  kSetsid,
  kSetgroups,    // ints = gids
  kSetgid,       // n = gid
  kSetuid,       // n = uid
  kNoNewPrivs,
  kWriteFile,    // b = path, a = content
  kUmask,        // m = mask
  kOpen,         // b = path, n = fd to move it to (O_PATH|O_CLOEXEC)
  kOpenBeneath,  // a = base dir, b = relative path (parts = its components),
                 // n = fd, m = mode of dirs made on the way (0: make none)
  kOpenTree,     // b = path, n = fd (OPEN_TREE_CLONE|AT_RECURSIVE)
  kMoveMount,    // n = fd, b = target
  kRemountRo,    // b = target
  kMask,         // b = path, a = the null device to bind over a file
  kReadonlyPath, // b = path
  kCapbset,      // n = capabilities to keep (mask)
  kKeepCaps,     // n = 0 or 1
  kCapset,       // ints = permitted, effective, inheritable, ambient masks;
                 // m = 1: limit them to what this process holds
  kSeccomp,      // filter = the BPF program
  kExec,         // list = candidate paths, argv, envp; m = 1: execveat(n) instead
};

struct Step {
  Op op;
  std::string a, b, c, d;
  unsigned long n = 0;
  unsigned int m = 0;
  std::vector<long> ints;
  // Components of b (open_beneath), and the BPF program (seccomp).
  std::vector<std::string> parts;
  std::vector<const char*> parts_p;
  std::vector<struct sock_filter> filter;
  // setgroups takes gid_t (32 bits), not the longs of `ints`.
  std::vector<unsigned int> gids;
  // Pointer arrays into the strings below, NULL-terminated (exec only).
  std::vector<std::string> candidates, argv, envp;
  std::vector<const char*> candidates_p, argv_p, envp_p;
};

struct Plan {
  int clone_flags = 0;          // CLONE_NEW* for new namespaces
  std::string join_pid_ns;      // setns to this PID ns before clone, if set
  int stdio[3] = {-1, -1, -1};
  bool keep_signals_blocked = false;  // pause unblocks once its handlers exist
  std::vector<Step> steps;
};

// Filled by the child on failure; shared with the parent through CLONE_VM.
struct ChildResult {
  int step = -1;
  int err = 0;
};

const char* OpName(Op op);

// Runs in the cloned child: executes every step, then exec. Returns only on
// failure (after filling *result); the caller then _exit()s.
int RunChild(const Plan* plan, ChildResult* result);

}  // namespace peapod
