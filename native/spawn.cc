// spawn(plan): decode the JS plan, clone a vfork-style child that runs it,
// and return {pid, pidfd}. On a failed step, throw naming the step.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"
#include "fd_message.h"
#include "plan.h"

namespace peapod {

namespace {

constexpr size_t kStackSize = 256 * 1024;
// One stack is enough: spawns are serialised on the main thread, and
// CLONE_VFORK keeps the parent suspended until the child execs or exits.
alignas(64) char child_stack[kStackSize];

struct ChildArgs {
  const Plan* plan;
  ChildResult* result;
};

int ChildMain(void* arg) {
  auto* args = static_cast<ChildArgs*>(arg);
  // 0 only when the program runs in the child this one made (enter_pid_ns).
  _exit(RunChild(args->plan, args->result, 0) == 0 ? 0 : 127);
}

// The plan as src/native/addon.ts packs it (RawPlan): per step kStepNumbers
// numbers (op index, n, m, f, g, which of a, b, c, d, what it has as bits
// 0-4, then how many ints, candidates, argv and envp entries), the strings
// it has in `text`, each ended by a NUL (then its list entries), its ints
// and its BPF program apart. Read in one pass: property by property, a
// container's 84 steps took ~100 µs.
constexpr size_t kStepNumbers = 10;

// Walks the packed text, one NUL-ended string at a time.
class TextReader {
 public:
  TextReader(Napi::Env env, std::string text) : env_(env), text_(std::move(text)) {}

  std::string Next() {
    size_t end = text_.find('\0', pos_);
    if (end == std::string::npos) throw Napi::TypeError::New(env_, "spawn: plan.text ends before its last string");
    std::string out = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  std::vector<std::string> Next(size_t count) {
    std::vector<std::string> out;
    for (size_t i = 0; i < count; i++) out.push_back(Next());
    return out;
  }

  // Strings left at most (each takes a byte at least, its NUL).
  size_t Left() const { return text_.size() - pos_; }

 private:
  Napi::Env env_;
  std::string text_;
  size_t pos_ = 0;
};

std::vector<const char*> Pointers(const std::vector<std::string>& strs) {
  std::vector<const char*> ptrs;
  for (const std::string& s : strs) ptrs.push_back(s.c_str());
  ptrs.push_back(nullptr);
  return ptrs;
}

Napi::Float64Array Doubles(Napi::Env env, const Napi::Object& js, const char* key) {
  Napi::Value v = js.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, std::string("spawn: plan.") + key + " must be a Float64Array");
  }
  return v.As<Napi::Float64Array>();
}

// A count or a field of the packed numbers: a whole number in [0, max],
// else a TypeError (a cast of NaN, a negative or a huge double is undefined).
double Whole(Napi::Env env, double v, double max, const char* what) {
  if (!(v >= 0 && v <= max) || v != static_cast<double>(static_cast<unsigned long long>(v))) {
    throw Napi::TypeError::New(env, std::string("spawn: plan.numbers: ") + what + " out of range");
  }
  return v;
}

constexpr double kMaxField = 9007199254740992.0;  // 2^53: what a double holds exactly

Op OpAt(Napi::Env env, double index) {
  static const size_t kCount = 0
#define PEAPOD_OP_COUNT(id, js, text) +1
      PEAPOD_OPS(PEAPOD_OP_COUNT)
#undef PEAPOD_OP_COUNT
      ;
  if (!(index >= 0 && index < static_cast<double>(kCount))) {
    throw Napi::TypeError::New(env, "spawn: unknown step op " + std::to_string(index));
  }
  return static_cast<Op>(static_cast<int>(index));
}

// Components of an open_beneath path, split here so the child only walks them.
void SplitBeneath(Step* s) {
  size_t start = 0;
  while (start <= s->b.size()) {
    size_t slash = s->b.find('/', start);
    if (slash == std::string::npos) slash = s->b.size();
    std::string part = s->b.substr(start, slash - start);
    if (!part.empty() && part != ".") s->parts.push_back(part);
    start = slash + 1;
  }
  s->scratch.assign(s->b.size() + 1, '\0');
}

// The program comes packed as struct sock_filter: copied whole, not read number by number.
void CopyFilter(Napi::Env env, const Napi::Array& filters, uint32_t index, Step* s) {
  Napi::Value bpf = index < filters.Length() ? filters.Get(index) : env.Undefined();
  if (!bpf.IsBuffer()) throw Napi::TypeError::New(env, "spawn: a seccomp step needs its program as a Buffer of struct sock_filter");
  Napi::Buffer<uint8_t> buf = bpf.As<Napi::Buffer<uint8_t>>();
  size_t n = buf.Length() / sizeof(struct sock_filter);
  if (buf.Length() % sizeof(struct sock_filter) != 0 || n == 0 || n > BPF_MAXINSNS) {
    throw Napi::TypeError::New(env, "spawn: a seccomp filter is 1 to 4096 instructions of 8 bytes");
  }
  s->filter.resize(n);
  memcpy(s->filter.data(), buf.Data(), buf.Length());
}

Plan DecodePlan(Napi::Env env, const Napi::Object& js) {
  Plan plan;
  plan.clone_flags = static_cast<int>(js.Get("cloneFlags").ToNumber().Int32Value());
  plan.keep_signals_blocked = js.Get("keepSignalsBlocked").ToBoolean();
  Napi::Value stdio = js.Get("stdio");
  if (stdio.IsArray()) {
    Napi::Array arr = stdio.As<Napi::Array>();
    for (uint32_t i = 0; i < 3 && i < arr.Length(); i++) {
      plan.stdio[i] = arr.Get(i).ToNumber().Int32Value();
    }
  }
  Napi::Float64Array numbers = Doubles(env, js, "numbers");
  Napi::Float64Array ints = Doubles(env, js, "ints");
  Napi::Value text = js.Get("text");
  Napi::Value filters = js.Get("filters");
  if (!text.IsString() || !filters.IsArray() || numbers.ElementLength() % kStepNumbers != 0) {
    throw Napi::TypeError::New(env, "spawn: a plan is {numbers, text, ints, filters} as src/native/addon.ts packs it");
  }
  TextReader strings(env, text.As<Napi::String>().Utf8Value());
  size_t next_int = 0;
  uint32_t next_filter = 0;
  bool has_exec = false;
  for (size_t base = 0; base < numbers.ElementLength(); base += kStepNumbers) {
    const double* v = numbers.Data() + base;
    Step s;
    s.op = OpAt(env, v[0]);
    s.n = static_cast<unsigned long>(Whole(env, v[1], kMaxField, "n"));
    s.m = static_cast<unsigned int>(Whole(env, v[2], 4294967295.0, "m"));
    s.f = static_cast<unsigned long>(Whole(env, v[3], kMaxField, "f"));
    s.g = static_cast<unsigned long>(Whole(env, v[4], kMaxField, "g"));
    unsigned present = static_cast<unsigned>(Whole(env, v[5], 31, "the strings present"));
    std::string* fields[] = {&s.a, &s.b, &s.c, &s.d, &s.what};
    for (unsigned bit = 0; bit < 5; bit++) {
      if (present & (1u << bit)) *fields[bit] = strings.Next();
    }
    size_t int_count = static_cast<size_t>(Whole(env, v[6], static_cast<double>(ints.ElementLength() - next_int), "a count of ints"));
    for (size_t j = 0; j < int_count; j++) {
      double i = ints[next_int++];
      if (!(i >= -kMaxField && i <= kMaxField)) throw Napi::TypeError::New(env, "spawn: plan.ints: a number out of range");
      s.ints.push_back(static_cast<long>(i));
    }
    s.candidates = strings.Next(static_cast<size_t>(Whole(env, v[7], static_cast<double>(strings.Left()), "a count of candidates")));
    s.argv = strings.Next(static_cast<size_t>(Whole(env, v[8], static_cast<double>(strings.Left()), "a count of argv entries")));
    s.envp = strings.Next(static_cast<size_t>(Whole(env, v[9], static_cast<double>(strings.Left()), "a count of environment entries")));
    if (s.op == Op::kSetgroups) {
      for (long g : s.ints) s.gids.push_back(static_cast<unsigned int>(g));
    }
    if (s.op == Op::kOpenBeneath) SplitBeneath(&s);
    if (s.op == Op::kOpenPty) plan.pty_socket_fd = static_cast<int>(s.n);
    if (s.op == Op::kSeccomp) CopyFilter(env, filters.As<Napi::Array>(), next_filter++, &s);
    if (s.op == Op::kExec) {
      has_exec = true;
      if (s.f != 0) plan.exec_status_fd = static_cast<int>(s.f - 1);
    }
    plan.steps.push_back(std::move(s));
  }
  if (!has_exec || plan.steps.back().op != Op::kExec) {
    throw Napi::TypeError::New(env, "spawn: a plan must end with an exec step");
  }
  // Pointer arrays last: the strings no longer move.
  for (Step& s : plan.steps) {
    if (s.op == Op::kOpenBeneath) s.parts_p = Pointers(s.parts);
    if (s.op != Op::kExec) continue;
    s.candidates_p = Pointers(s.candidates);
    s.argv_p = Pointers(s.argv);
    s.envp_p = Pointers(s.envp);
  }
  return plan;
}

std::string DescribeStep(const Step& s) {
  std::string out = OpName(s.op);
  if (!s.what.empty()) return out + " " + s.what;
  switch (s.op) {
    case Op::kSetns: return out + " " + s.a;
    case Op::kMount:
      return out + " " + (s.c.empty() ? s.a : s.c) + " on " + s.b +
             (s.a.empty() || s.c.empty() ? "" : " (from " + s.a + ")");
    case Op::kSethostname: return out + " " + s.a;
    case Op::kSymlink: return out + " " + s.b + " -> " + s.a;
    case Op::kWriteFile: return out + " " + s.b;
    case Op::kExec: return out + " " + (s.argv.empty() ? std::string("?") : s.argv[0]);
    case Op::kUmount: case Op::kMkdir: case Op::kMknod: case Op::kTouch:
    case Op::kPivotRoot: case Op::kChdir: case Op::kOpen: case Op::kOpenTree:
    case Op::kRemountRo: case Op::kMask: case Op::kReadonlyPath: case Op::kOpenExe:
      return out + " " + s.b;
    case Op::kOpenBeneath:
      // Which volume and which subPath, e.g. "open beneath /vol: escape".
      return out + " " + s.a + ": " + s.b;
    case Op::kMoveMount:
      return out + " fd " + std::to_string(s.n) + " to fd " + std::to_string(s.f);
    case Op::kSetuid: case Op::kSetgid:
      return out + " " + std::to_string(s.n);
    default:
      return out;
  }
}

// The parent's end of a pipe or socket, at a number no plan gives (stdio,
// kPlanFdPtySocket..kPlanFdMax), so the child's moves never clobber it. It
// is moved (to >= 1000) only when it is there: growing the descriptor table
// Node's threads share past its first 64 entries waits for an RCU grace
// period (~10 ms here), which a short-lived CLI would pay on every spawn.
int OutOfPlanFd(Napi::Env env, int fd, const char* what) {
  if (fd > STDERR_FILENO && fd < kPlanFdPtySocket) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, kPlanFdMax + 1);
  int err = errno;
  close(fd);
  if (high < 0) throw SyscallError(env, std::string("fcntl F_DUPFD ") + what, err);
  return high;
}

void CloseIf(int fd) {
  if (fd >= 0) close(fd);
}

// What the parent makes for the child before clone(): the exec status pipe
// and the pty socket, when a step asks for them.
struct Channels {
  int status_read = -1;
  int pty_parent = -1;
  ~Channels() {
    CloseIf(status_read);
    CloseIf(pty_parent);
  }
};

void OpenChannels(Napi::Env env, Plan* plan, Channels* ch) {
  if (plan->exec_status_fd >= 0) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) throw SyscallError(env, "pipe2 (exec status)", errno);
    ch->status_read = fds[0];
    plan->exec_status_write = OutOfPlanFd(env, fds[1], "exec status");
  }
  if (plan->pty_socket_fd >= 0) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) throw SyscallError(env, "socketpair (pty)", errno);
    ch->pty_parent = fds[0];
    plan->pty_socket_child = OutOfPlanFd(env, fds[1], "pty socket");
  }
}

// Clones the child vfork-style. Returns its pid once it has exec'd or exited.
pid_t CloneChild(Napi::Env env, const Plan& plan, ChildArgs* args, int* pidfd) {
  // Signals stay blocked across clone: a handler must never run in the child
  // on the parent's memory; the child resets dispositions before unblocking.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | plan.clone_flags;
  pid_t pid = clone(ChildMain, child_stack + kStackSize, flags, args, pidfd, nullptr, nullptr);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) throw SyscallError(env, "clone", clone_err);
  return pid;
}

void Reap(int pidfd) {
  siginfo_t si;
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED) < 0 && errno == EINTR) {
  }
  close(pidfd);
}

void ReapPid(pid_t pid) {
  siginfo_t si;
  while (waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED) < 0 && errno == EINTR) {
  }
}

// The errno pause --exec wrote when the command's exec failed; 0 when the
// pipe closed empty (the exec worked and its CLOEXEC closed the pipe).
int ReadExecStatus(int fd) {
  int err = 0;
  ssize_t n;
  do {
    n = read(fd, &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof err) ? err : 0;
}

// The master the child sent over the pty socket.
int ReceiveFd(Napi::Env env, int sock) {
  FdMessage in;
  if (recvmsg(sock, &in.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0) throw SyscallError(env, "recvmsg (pty master)", errno);
  int fd = in.Carried();
  if (fd < 0) throw SyscallError(env, "recvmsg (pty master)", EBADMSG);
  return fd;
}

[[noreturn]] void ThrowStepError(Napi::Env env, const Plan& plan, const ChildResult& result) {
  std::string what;
  if (result.step == kBeforeSteps) what = "spawn set-up";
  else if (result.step >= static_cast<int>(plan.steps.size())) what = "spawn plan";
  else what = DescribeStep(plan.steps[static_cast<size_t>(result.step)]);
  if (result.call != nullptr) what += std::string(": ") + result.call;
  Napi::Error e = SyscallError(env, what, result.err);
  e.Set("step", Napi::Number::New(env, result.step));
  throw e;
}

size_t ExecStep(const Plan& plan) { return plan.steps.size() - 1; }

}  // namespace

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "spawn(plan): plan object expected");
  }
  Plan plan = DecodePlan(env, info[0].As<Napi::Object>());
  plan.spawner = getpid();
  Channels channels;
  OpenChannels(env, &plan, &channels);
  ChildResult result;
  ChildArgs args{&plan, &result};
  int pidfd = -1;
  pid_t pid;
  try {
    pid = CloneChild(env, plan, &args, &pidfd);
  } catch (...) {
    CloseIf(plan.exec_status_write);
    CloseIf(plan.pty_socket_child);
    throw;
  }
  // The child's ends: from now on only the program holds them.
  CloseIf(plan.exec_status_write);
  CloseIf(plan.pty_socket_child);

  if (result.program != 0) {
    // The first child made the program's process (enter_pid_ns) and exited.
    Reap(pidfd);
    pid = result.program;
    if (result.step != -1) {
      ReapPid(pid);
      ThrowStepError(env, plan, result);
    }
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
      int err = errno;
      ReapPid(pid);
      throw SyscallError(env, "pidfd_open " + std::to_string(pid), err);
    }
    pidfd = static_cast<int>(fd);
    fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  } else if (result.step != -1) {
    // The child failed before exec and has exited: reap it, then report.
    Reap(pidfd);
    ThrowStepError(env, plan, result);
  }

  if (channels.status_read >= 0) {
    int err = ReadExecStatus(channels.status_read);
    if (err != 0) {
      Reap(pidfd);
      ChildResult failed;
      failed.step = static_cast<int>(ExecStep(plan));
      failed.err = err;
      ThrowStepError(env, plan, failed);
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  if (channels.pty_parent >= 0) {
    try {
      out.Set("master", Napi::Number::New(env, ReceiveFd(env, channels.pty_parent)));
    } catch (...) {
      // Without its terminal the program must not run on.
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      Reap(pidfd);
      throw;
    }
  }
  return out;
}

}  // namespace peapod
