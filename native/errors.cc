#include "errors.h"

#include <string.h>

namespace peapod {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

Napi::Error SyscallError(Napi::Env env, const std::string& what, int err) {
  std::string code = ErrnoName(err);
  Napi::Error e = Napi::Error::New(env, what + ": " + code + " (" + strerror(err) + ")");
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

}  // namespace peapod
