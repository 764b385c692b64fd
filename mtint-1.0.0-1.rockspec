-- `luarocks make` builds the drop-in module for the interpreter LuaRocks
-- targets (--lua-version=5.1 .. 5.4; LuaJIT: --lua-version=5.1 with
-- LUA_INCDIR at LuaJIT's headers). One file, mtint.so, with the core inside;
-- Lua's symbols come from the interpreter. tests/lua/luarocks.sh checks the
-- source list against build.zig's.
rockspec_format = "3.0"
package = "mtint"
version = "1.0.0-1"
source = {
  url = "git+https://github.com/x/mtint.git",
  tag = "v1.0.0",
}
description = {
  summary = "Interrupt a running Lua state or coroutine from any thread",
  detailed = "A drop-in for the mtint rock: mtint.interrupt(id) stops a Lua state or coroutine running on another thread.",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
build = {
  type = "builtin",
  modules = {
    mtint = {
      sources = {
        "csrc/core/cond_clock_darwin.c",
        "csrc/core/cond_clock_posix.c",
        "csrc/core/cputime_darwin.c",
        "csrc/core/cputime_posix.c",
        "csrc/core/exports.c",
        "csrc/core/idcipher.c",
        "csrc/core/idmap.c",
        "csrc/core/inspect.c",
        "csrc/core/kick.c",
        "csrc/core/kick_signal_linux.c",
        "csrc/core/kick_signal_posix.c",
        "csrc/core/mailbox.c",
        "csrc/core/posts.c",
        "csrc/core/pins.c",
        "csrc/core/registry.c",
        "csrc/core/scope.c",
        "csrc/core/stack.c",
        "csrc/core/stack_switch_aarch64.c",
        "csrc/core/stack_switch_x86_64.c",
        "csrc/core/thread_self_darwin.c",
        "csrc/core/thread_self_linux.c",
        "csrc/core/timer_slack_linux.c",
        "csrc/core/timer_slack_none.c",
        "csrc/core/universe.c",
        "csrc/core/watchdog.c",
        "csrc/lua/allowlist.c",
        "csrc/lua/closestack.c",
        "csrc/lua/concatguard.c",
        "csrc/lua/countloops.c",
        "csrc/lua/libwrap.c",
        "csrc/lua/codec.c",
        "csrc/lua/traceback.c",
        "csrc/lua/coro.c",
        "csrc/lua/handles.c",
            "csrc/lua/hook.c",
        "csrc/lua/hookfields.c",
        "csrc/lua/inspect.c",
        "csrc/lua/host.c",
        "csrc/lua/hostlib.c",
        "csrc/lua/loaders.c",
        "csrc/lua/module.c",
        "csrc/lua/pool.c",
        "csrc/lua/patterns.c",
        "csrc/lua/recursion.c",
        "csrc/lua/sort.c",
        "csrc/lua/rehook.c",
        "csrc/lua/runner.c",
        "csrc/lua/sandbox.c",
        "csrc/lua/world.c",
      },
      defines = { "_GNU_SOURCE" },
      incdirs = { "csrc/core", "csrc/lua" },
      libraries = { "pthread", "m" },
    },
  },
}
