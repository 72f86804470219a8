// spawn(plan): decode the JS plan, clone a vfork-style child that runs it,
// and return {pid, pidfd}. On a failed step, throw naming the step.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <napi.h>

#include "errors.h"
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
  RunChild(args->plan, args->result);
  _exit(127);
}

std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

double Num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
}

std::vector<std::string> StrList(const Napi::Object& o, const char* key) {
  std::vector<std::string> out;
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return out;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    out.push_back(arr.Get(i).ToString().Utf8Value());
  }
  return out;
}

std::vector<const char*> Pointers(const std::vector<std::string>& strs) {
  std::vector<const char*> ptrs;
  for (const std::string& s : strs) ptrs.push_back(s.c_str());
  ptrs.push_back(nullptr);
  return ptrs;
}

Op ParseOp(Napi::Env env, const std::string& name) {
  static const struct { const char* name; Op op; } kOps[] = {
      {"setns", Op::kSetns},         {"unshare", Op::kUnshare},
      {"mount", Op::kMount},         {"umount", Op::kUmount},
      {"mkdir", Op::kMkdir},         {"mknod", Op::kMknod},
      {"touch", Op::kTouch},         {"symlink", Op::kSymlink},
      {"pivot_root", Op::kPivotRoot}, {"chdir", Op::kChdir},
      {"sethostname", Op::kSethostname}, {"loopback_up", Op::kLoopbackUp},
      {"pdeathsig", Op::kPdeathsig}, {"setsid", Op::kSetsid},
      {"setgroups", Op::kSetgroups}, {"setgid", Op::kSetgid},
      {"setuid", Op::kSetuid},       {"no_new_privs", Op::kNoNewPrivs},
      {"write_file", Op::kWriteFile}, {"umask", Op::kUmask},
      {"open", Op::kOpen},           {"open_beneath", Op::kOpenBeneath},
      {"open_tree", Op::kOpenTree},  {"move_mount", Op::kMoveMount},
      {"remount_ro", Op::kRemountRo}, {"mask", Op::kMask},
      {"readonly_path", Op::kReadonlyPath}, {"capbset", Op::kCapbset},
      {"keepcaps", Op::kKeepCaps},   {"capset", Op::kCapset},
      {"seccomp", Op::kSeccomp},     {"exec", Op::kExec},
  };
  for (const auto& entry : kOps) {
    if (name == entry.name) return entry.op;
  }
  throw Napi::TypeError::New(env, "spawn: unknown step op \"" + name + "\"");
}

Plan DecodePlan(Napi::Env env, const Napi::Object& js) {
  Plan plan;
  plan.clone_flags = static_cast<int>(Num(js, "cloneFlags"));
  plan.join_pid_ns = Str(js, "joinPidNs");
  plan.keep_signals_blocked = js.Get("keepSignalsBlocked").ToBoolean();
  Napi::Value stdio = js.Get("stdio");
  if (stdio.IsArray()) {
    Napi::Array arr = stdio.As<Napi::Array>();
    for (uint32_t i = 0; i < 3 && i < arr.Length(); i++) {
      plan.stdio[i] = arr.Get(i).ToNumber().Int32Value();
    }
  }
  Napi::Value steps = js.Get("steps");
  if (!steps.IsArray()) throw Napi::TypeError::New(env, "spawn: plan.steps must be an array");
  Napi::Array arr = steps.As<Napi::Array>();
  bool has_exec = false;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    Step s;
    s.op = ParseOp(env, Str(o, "op"));
    s.a = Str(o, "a");
    s.b = Str(o, "b");
    s.c = Str(o, "c");
    s.d = Str(o, "d");
    s.n = static_cast<unsigned long>(Num(o, "n"));
    s.m = static_cast<unsigned int>(Num(o, "m"));
    Napi::Value ints = o.Get("ints");
    if (ints.IsArray()) {
      Napi::Array ia = ints.As<Napi::Array>();
      for (uint32_t j = 0; j < ia.Length(); j++) s.ints.push_back(ia.Get(j).ToNumber().Int64Value());
    }
    if (s.op == Op::kSetgroups) {
      for (long g : s.ints) s.gids.push_back(static_cast<unsigned int>(g));
    }
    if (s.op == Op::kOpenBeneath) {
      // Components, split here so the child only walks them.
      size_t start = 0;
      while (start <= s.b.size()) {
        size_t slash = s.b.find('/', start);
        if (slash == std::string::npos) slash = s.b.size();
        std::string part = s.b.substr(start, slash - start);
        if (!part.empty() && part != ".") s.parts.push_back(part);
        start = slash + 1;
      }
    }
    if (s.op == Op::kSeccomp) {
      if (s.ints.size() % 4 != 0 || s.ints.empty() || s.ints.size() / 4 > BPF_MAXINSNS) {
        throw Napi::TypeError::New(env, "spawn: a seccomp filter is 1 to 4096 instructions of 4 numbers");
      }
      for (size_t j = 0; j < s.ints.size(); j += 4) {
        struct sock_filter ins;
        ins.code = static_cast<__u16>(s.ints[j]);
        ins.jt = static_cast<__u8>(s.ints[j + 1]);
        ins.jf = static_cast<__u8>(s.ints[j + 2]);
        ins.k = static_cast<__u32>(s.ints[j + 3]);
        s.filter.push_back(ins);
      }
    }
    if (s.op == Op::kExec) {
      has_exec = true;
      s.candidates = StrList(o, "candidates");
      s.argv = StrList(o, "argv");
      s.envp = StrList(o, "envp");
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
    case Op::kRemountRo: case Op::kMask: case Op::kReadonlyPath:
      return out + " " + s.b;
    case Op::kOpenBeneath:
      // Which volume and which subPath, e.g. "open beneath /vol: escape".
      return out + " " + s.a + ": " + s.b;
    case Op::kMoveMount:
      return out + " fd " + std::to_string(s.n) + " to " + s.b;
    case Op::kSetuid: case Op::kSetgid:
      return out + " " + std::to_string(s.n);
    default:
      return out;
  }
}

// Clones the child; for a PID namespace join, switches this thread's
// pid_for_children around clone() and back. Returns the child's pid.
pid_t CloneChild(Napi::Env env, const Plan& plan, ChildArgs* args, int* pidfd) {
  int own_pid_ns = -1;
  int pod_pid_ns = -1;
  if (!plan.join_pid_ns.empty()) {
    own_pid_ns = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pid_ns < 0) throw SyscallError(env, "open /proc/thread-self/ns/pid", errno);
    pod_pid_ns = open(plan.join_pid_ns.c_str(), O_RDONLY | O_CLOEXEC);
    if (pod_pid_ns < 0) {
      int err = errno;
      close(own_pid_ns);
      throw SyscallError(env, "open " + plan.join_pid_ns, err);
    }
    if (setns(pod_pid_ns, CLONE_NEWPID) < 0) {
      int err = errno;
      close(own_pid_ns);
      close(pod_pid_ns);
      throw SyscallError(env, "setns " + plan.join_pid_ns, err);
    }
    close(pod_pid_ns);
  }

  // Signals stay blocked across clone: a handler must never run in the child
  // on the parent's memory; the child resets dispositions before unblocking.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | plan.clone_flags;
  pid_t pid = clone(ChildMain, child_stack + kStackSize, flags, args, pidfd, nullptr, nullptr);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);

  if (own_pid_ns >= 0) {
    int rc = setns(own_pid_ns, CLONE_NEWPID);
    int err = errno;
    close(own_pid_ns);
    // Not restoring would put every later child of Node in the pod.
    if (rc < 0) throw SyscallError(env, "setns back to own PID namespace", err);
  }
  if (pid < 0) throw SyscallError(env, "clone", clone_err);
  return pid;
}

}  // namespace

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "spawn(plan): plan object expected");
  }
  Plan plan = DecodePlan(env, info[0].As<Napi::Object>());
  ChildResult result;
  ChildArgs args{&plan, &result};
  int pidfd = -1;
  pid_t pid = CloneChild(env, plan, &args, &pidfd);

  if (result.step != -1) {
    // The child failed before exec and has exited: reap it, then report.
    siginfo_t si;
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED);
    close(pidfd);
    std::string what;
    if (result.step == -2) {
      what = "dup2 stdio";
    } else if (result.step >= static_cast<int>(plan.steps.size())) {
      what = "spawn plan";
    } else {
      what = DescribeStep(plan.steps[static_cast<size_t>(result.step)]);
    }
    Napi::Error e = SyscallError(env, what, result.err);
    e.Set("step", Napi::Number::New(env, result.step));
    throw e;
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  return out;
}

}  // namespace peapod
