// Errors across the addon boundary: `<what> <path>: <ERRNO> (<text>)`, with
// .code, .errno and .syscall set, so JS never sees a bare `Error -1`.
#pragma once

#include <napi.h>

#include <string>

namespace peapod {

Napi::Error SyscallError(Napi::Env env, const std::string& what, int err);
std::string ErrnoName(int err);

}  // namespace peapod
