// peapod's one native boundary. TypeScript decides what a process is made
// of (a spawn plan); this addon only executes plans and watches exits.
#include <napi.h>

namespace peapod {
Napi::Value Spawn(const Napi::CallbackInfo& info);
Napi::Value WatchExit(const Napi::CallbackInfo& info);
Napi::Value Pipe(const Napi::CallbackInfo& info);
Napi::Value PidfdSignal(const Napi::CallbackInfo& info);
Napi::Value PidfdOpen(const Napi::CallbackInfo& info);
Napi::Value Mount(const Napi::CallbackInfo& info);
Napi::Value Mkfifo(const Napi::CallbackInfo& info);
Napi::Value Umount(const Napi::CallbackInfo& info);
Napi::Value MarkTopDir(const Napi::CallbackInfo& info);
Napi::Value SocketInNetns(const Napi::CallbackInfo& info);
Napi::Value SetWinsize(const Napi::CallbackInfo& info);
Napi::Value WatchMemcgOom(const Napi::CallbackInfo& info);
Napi::Value UnwatchMemcgOom(const Napi::CallbackInfo& info);
}  // namespace peapod

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, peapod::Spawn));
  exports.Set("watchExit", Napi::Function::New(env, peapod::WatchExit));
  exports.Set("pipe", Napi::Function::New(env, peapod::Pipe));
  exports.Set("pidfdSignal", Napi::Function::New(env, peapod::PidfdSignal));
  exports.Set("pidfdOpen", Napi::Function::New(env, peapod::PidfdOpen));
  exports.Set("mount", Napi::Function::New(env, peapod::Mount));
  exports.Set("mkfifo", Napi::Function::New(env, peapod::Mkfifo));
  exports.Set("umount", Napi::Function::New(env, peapod::Umount));
  exports.Set("markTopDir", Napi::Function::New(env, peapod::MarkTopDir));
  exports.Set("socketInNetns", Napi::Function::New(env, peapod::SocketInNetns));
  exports.Set("setWinsize", Napi::Function::New(env, peapod::SetWinsize));
  exports.Set("watchMemcgOom", Napi::Function::New(env, peapod::WatchMemcgOom));
  exports.Set("unwatchMemcgOom", Napi::Function::New(env, peapod::UnwatchMemcgOom));
  return exports;
}

NODE_API_MODULE(peapod, Init)
