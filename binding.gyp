{
  "targets": [
    {
      "target_name": "peapod",
      "sources": [
        "native/addon.cc",
        "native/spawn.cc",
        "native/child.cc",
        "native/exit_watch.cc",
        "native/syscalls.cc",
        "native/errors.cc",
        "native/netns_socket.cc",
        "native/pty.cc",
        "native/oom_watch.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra"],
      "cflags_cc": ["-Wall", "-Wextra", "-std=c++17", "-fexceptions"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "peapod-reaper",
      "type": "executable",
      "sources": ["native/reaper.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-function", "-Os"],
      "ldflags": ["-static", "-s"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='arm64'", {
          "defines": ["PAUSE_NOLIBC"],
          "cflags": ["-ffreestanding", "-fno-builtin", "-fno-stack-protector"],
          "ldflags": ["-nostdlib"]
        }]
      ]
    },
    {
      "target_name": "pause",
      "type": "executable",
      "sources": ["native/pause.c"],
      "cflags": ["-Wall", "-Wextra", "-Os"],
      "ldflags": ["-static", "-s"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='arm64'", {
          "defines": ["PAUSE_NOLIBC"],
          "cflags": ["-ffreestanding", "-fno-builtin", "-fno-stack-protector"],
          "ldflags": ["-nostdlib"]
        }]
      ]
    }
  ]
}
