//! Builds the core (csrc/core) once and the Lua library (csrc/lua) twice per
//! Lua version whose headers are installed (only the headers: nothing links
//! Lua, so the libraries run with any distribution's Lua runtime):
//!
//!   zig-out/lib/libmtint_core.so             registry, kicks, deadlines, mailbox
//!   zig-out/lib/<version>/libmtint_lua.so    the host API for JavaScript; uses the
//!                                            core above, binds Lua at run time
//!   zig-out/lib/<version>/mtint.so           `require "mtint"` for the stock
//!                                            interpreters: one file, the core inside,
//!                                            Lua's symbols from the interpreter
//!
//! `-Dtarget=x86_64-linux-gnu.2.28 -Dstrip=true` is how scripts/dist.ts
//! cross-builds the prebuilt libraries.
//!
//! `zig build test` builds and runs the native tests, including a
//! ThreadSanitizer build of the core's stress test.
const std = @import("std");

pub const LuaVersion = struct {
    name: []const u8, // directory under zig-out/lib, and what JS asks for
    include: []const u8,
    lib: []const u8,
    luajit: bool = false,
};

pub const lua_versions = [_]LuaVersion{
    .{ .name = "5.1", .include = "/usr/include/lua5.1", .lib = "lua5.1" },
    .{ .name = "5.2", .include = "/usr/include/lua5.2", .lib = "lua5.2" },
    .{ .name = "5.3", .include = "/usr/include/lua5.3", .lib = "lua5.3" },
    .{ .name = "5.4", .include = "/usr/include/lua5.4", .lib = "lua5.4" },
    .{ .name = "luajit", .include = "/usr/include/luajit-2.1", .lib = "luajit-5.1", .luajit = true },
};

const core_sources = [_][]const u8{
    "csrc/core/registry.c",
    "csrc/core/idmap.c",
    "csrc/core/universe.c",
    "csrc/core/kick.c",
    "csrc/core/kick_signal_linux.c",
    "csrc/core/kick_signal_posix.c",
    "csrc/core/watchdog.c",
    "csrc/core/inspect.c",
    "csrc/core/mailbox.c",
    "csrc/core/posts.c",
    "csrc/core/exports.c",
    "csrc/core/idcipher.c",
    "csrc/core/scope.c",
    "csrc/core/pins.c",
    "csrc/core/stack.c",
    "csrc/core/stack_switch_x86_64.c",
    "csrc/core/stack_switch_aarch64.c",
    "csrc/core/cputime_posix.c",
    "csrc/core/cputime_darwin.c",
    "csrc/core/cond_clock_posix.c",
    "csrc/core/cond_clock_darwin.c",
    "csrc/core/thread_self_linux.c",
    "csrc/core/thread_self_darwin.c",
    "csrc/core/timer_slack_linux.c",
    "csrc/core/timer_slack_none.c",
};

const lua_sources = [_][]const u8{
    "csrc/lua/traceback.c",
    "csrc/lua/world.c",
    "csrc/lua/hook.c",
    "csrc/lua/inspect.c",
    "csrc/lua/hookfields.c",
    "csrc/lua/runner.c",
    "csrc/lua/module.c",
    "csrc/lua/coro.c",
    "csrc/lua/codec.c",
    "csrc/lua/handles.c",
    "csrc/lua/sandbox.c",
    "csrc/lua/loaders.c",
    "csrc/lua/allowlist.c",
    "csrc/lua/patterns.c",
    "csrc/lua/recursion.c",
    "csrc/lua/sort.c",
    "csrc/lua/rehook.c",
    "csrc/lua/hostlib.c",
    "csrc/lua/host.c",
    "csrc/lua/pool.c",
    "csrc/lua/closestack.c",
    "csrc/lua/concatguard.c",
    "csrc/lua/countloops.c",
    "csrc/lua/libwrap.c",
};

// Only in libmtint_lua.so: the run-time binding of the Lua API.
const binding_sources = [_][]const u8{
    "csrc/lua/lua_binding.c",
};

const c_flags = [_][]const u8{ "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden" };
const posix_kick_flags = c_flags ++ [_][]const u8{"-DMTINT_KICK_POSIX=1"};

/// How kicks reach the owner thread (csrc/core/kick_signal.h): the
/// platform's own way, or pthread_kill with a pending word per thread,
/// the macOS way, selectable on Linux so that it is tested there.
pub const Kick = enum { native, posix };

// The flags of the core's files: c_flags, plus the kick choice.
var core_flags: []const []const u8 = &c_flags;

fn hasHeaders(v: LuaVersion) bool {
    var dir = std.fs.openDirAbsolute(v.include, .{}) catch return false;
    defer dir.close();
    dir.access("lua.h", .{}) catch return false;
    return true;
}

// The tests link the system's Lua: its multiarch library and header paths.
fn addSystemPaths(step: *std.Build.Step.Compile) void {
    step.addIncludePath(.{ .path = "/usr/include/x86_64-linux-gnu" });
    step.addLibraryPath(.{ .path = "/usr/lib/x86_64-linux-gnu" });
}

// Debian's luaconf.h includes lua5.x-deb-multiarch.h, which only names the
// directory of C modules (used inside liblua, not by mtint). The libraries
// get a copy for their target instead of /usr/include/x86_64-linux-gnu,
// whose x86-64 system headers would shadow a cross target's.
fn debianMultiarchHeaders(b: *std.Build, target: std.zig.CrossTarget) std.Build.LazyPath {
    const wf = b.addWriteFiles();
    const info = std.zig.system.NativeTargetInfo.detect(target) catch @panic("target");
    const triple = b.fmt("{s}-linux-gnu", .{@tagName(info.target.cpu.arch)});
    for (lua_versions) |v| {
        if (v.luajit) continue;
        _ = wf.add(b.fmt("lua{s}-deb-multiarch.h", .{v.name}), b.fmt("#define DEB_HOST_MULTIARCH \"{s}\"\n", .{triple}));
    }
    return wf.getDirectory();
}

pub fn build(b: *std.Build) void {
    // A baseline CPU by default, not the build machine's: the libraries must
    // run on whatever x86-64 the tests or users run on.
    const target = b.standardTargetOptions(.{ .default_target = .{ .cpu_model = .baseline } });
    // Release by default: Zig's Debug and ReleaseSafe modes put UBSan traps
    // into C code. The sanitizer builds are separate test steps.
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Optimization mode (default: ReleaseFast)") orelse .ReleaseFast;

    const strip = b.option(bool, "strip", "Strip the libraries (default: false)") orelse false;
    const dropin = b.option(bool, "dropin", "Build the drop-in mtint.so too (default: true)") orelse true;
    const kick = b.option(Kick, "kick", "Kick signals: native (Linux: rt_tgsigqueueinfo) or posix (pthread_kill; always on macOS)") orelse .native;
    if (kick == .posix) core_flags = &posix_kick_flags;
    const darwin = (std.zig.system.NativeTargetInfo.detect(target) catch @panic("target")).target.isDarwin();

    const core = b.addSharedLibrary(.{ .name = "mtint_core", .target = target, .optimize = optimize });
    core.addCSourceFiles(&core_sources, core_flags);
    core.linkLibC();
    core.strip = strip;
    b.installArtifact(core);

    const multiarch = debianMultiarchHeaders(b, target);
    for (lua_versions) |v| {
        if (!hasHeaders(v)) {
            std.log.warn("skipping Lua {s}: {s}/lua.h not found (apt-get install liblua{s}-dev or libluajit-5.1-dev)", .{ v.name, v.include, v.name });
            continue;
        }
        const lib = b.addSharedLibrary(.{ .name = b.fmt("mtint_lua-{s}", .{v.name}), .target = target, .optimize = optimize });
        addLuaSources(lib, v);
        lib.addIncludePath(multiarch);
        lib.addCSourceFiles(&binding_sources, &c_flags);
        lib.strip = strip;
        // Link the core by name, not with linkLibrary, which would also
        // bake the build cache's absolute path into the run path.
        lib.addLibraryPath(core.getEmittedBinDirectory());
        lib.linkSystemLibrary2("mtint_core", .{ .use_pkg_config = .no });
        // The core is found beside the library at run time.
        lib.addRPath(originRelative(b, if (darwin) "@loader_path/.." else "$ORIGIN/.."));
        const install = b.addInstallFileWithDir(lib.getEmittedBin(), .{ .custom = b.fmt("lib/{s}", .{v.name}) }, if (darwin) "libmtint_lua.dylib" else "libmtint_lua.so");
        b.getInstallStep().dependOn(&install.step);

        // The drop-in: its Lua symbols stay undefined, as in any Lua C
        // module, and come from the interpreter that loads it. It has its
        // own copy of the core, hence its own registry: ids are shared
        // within one loaded copy (one Lua version), not with JavaScript's.
        if (!dropin) continue;
        const dropin_lib = b.addSharedLibrary(.{ .name = b.fmt("mtint-{s}", .{v.name}), .target = target, .optimize = optimize });
        addLuaSources(dropin_lib, v);
        dropin_lib.addIncludePath(multiarch);
        dropin_lib.addCSourceFiles(&core_sources, core_flags);
        dropin_lib.linker_allow_shlib_undefined = true;
        dropin_lib.strip = strip;
        // Lua's `require "mtint"` looks for exactly mtint.so.
        const install_dropin = b.addInstallFileWithDir(dropin_lib.getEmittedBin(), .{ .custom = b.fmt("lib/{s}", .{v.name}) }, "mtint.so");
        b.getInstallStep().dependOn(&install_dropin.step);
    }

    addTests(b, target, optimize);
}
// A run path relative to the library itself ($ORIGIN on ELF, @loader_path
// on Mach-O). Zig 0.11 makes every LazyPath absolute except a generated
// one, whose path it passes through as it is.
fn originRelative(b: *std.Build, path: []const u8) std.Build.LazyPath {
    const step = b.allocator.create(std.Build.Step) catch @panic("OOM");
    step.* = std.Build.Step.init(.{ .id = .custom, .name = "rpath", .owner = b });
    const file = b.allocator.create(std.Build.GeneratedFile) catch @panic("OOM");
    file.* = .{ .step = step, .path = path };
    return .{ .generated = file };
}

fn addLuaSources(step: *std.Build.Step.Compile, v: LuaVersion) void {
    step.addIncludePath(.{ .path = v.include });
    step.addIncludePath(.{ .path = "csrc/core" });
    if (v.luajit) step.defineCMacro("MTINT_LUAJIT", "1");
    step.addCSourceFiles(&lua_sources, &c_flags);
    step.linkLibC();
}

// The tests link the system's Lua directly.
fn addLuaLibrary(step: *std.Build.Step.Compile, v: LuaVersion) void {
    addLuaSources(step, v);
    addSystemPaths(step);
    step.linkSystemLibrary2(v.lib, .{ .use_pkg_config = .no });
}

fn addTests(b: *std.Build, target: std.zig.CrossTarget, optimize: std.builtin.OptimizeMode) void {
    _ = optimize;
    const test_step = b.step("test", "Build and run the native tests (and their sanitizer builds, with clang)");
    const seconds = b.option([]const u8, "stress-seconds", "How long each stress test runs (default 3)") orelse "3";

    // ReleaseSafe: Zig's UBSan traps are welcome in tests.
    const core_test = b.addExecutable(.{ .name = "core_test", .target = target, .optimize = .ReleaseSafe });
    core_test.addCSourceFile(.{ .file = .{ .path = "tests/native/core_test.c" }, .flags = &c_flags });
    core_test.addCSourceFiles(&core_sources, core_flags);
    core_test.addIncludePath(.{ .path = "csrc/core" });
    core_test.linkLibC();
    const run_core = b.addRunArtifact(core_test);
    run_core.addArg(seconds);
    test_step.dependOn(&run_core.step);

    const inspect_test = b.addExecutable(.{ .name = "inspect_test", .target = target, .optimize = .ReleaseSafe });
    inspect_test.addCSourceFile(.{ .file = .{ .path = "tests/native/inspect_test.c" }, .flags = &c_flags });
    inspect_test.addCSourceFiles(&core_sources, &c_flags);
    inspect_test.addIncludePath(.{ .path = "csrc/core" });
    inspect_test.linkLibC();
    const run_inspect = b.addRunArtifact(inspect_test);
    run_inspect.addArg(seconds);
    test_step.dependOn(&run_inspect.step);

    const stack_test = b.addExecutable(.{ .name = "stack_test", .target = target, .optimize = .ReleaseSafe });
    stack_test.addCSourceFile(.{ .file = .{ .path = "tests/native/stack_test.c" }, .flags = &c_flags });
    stack_test.addCSourceFiles(&core_sources, core_flags);
    stack_test.addIncludePath(.{ .path = "csrc/core" });
    stack_test.linkLibC();
    test_step.dependOn(&b.addRunArtifact(stack_test).step);

    const pool_test = b.addExecutable(.{ .name = "pool_test", .target = target, .optimize = .ReleaseSafe });
    pool_test.addCSourceFiles(&.{ "tests/native/pool_test.c", "csrc/lua/pool.c" }, &c_flags);
    pool_test.addIncludePath(.{ .path = "csrc/lua" });
    pool_test.linkLibC();
    test_step.dependOn(&b.addRunArtifact(pool_test).step);

    for (lua_versions) |v| {
        if (!hasHeaders(v)) continue;
        const stress = b.addExecutable(.{ .name = b.fmt("lua_stress-{s}", .{v.name}), .target = target, .optimize = .ReleaseSafe });
        stress.addCSourceFile(.{ .file = .{ .path = "tests/native/lua_stress.c" }, .flags = &c_flags });
        stress.addCSourceFiles(&core_sources, core_flags);
        stress.addIncludePath(.{ .path = "csrc/lua" });
        addLuaLibrary(stress, v);
        const run = b.addRunArtifact(stress);
        run.addArg(seconds);
        test_step.dependOn(&run.step);

        const dropin = b.addExecutable(.{ .name = b.fmt("dropin_test-{s}", .{v.name}), .target = target, .optimize = .ReleaseSafe });
        dropin.addCSourceFile(.{ .file = .{ .path = "tests/native/dropin_test.c" }, .flags = &c_flags });
        dropin.addCSourceFiles(&core_sources, core_flags);
        dropin.addIncludePath(.{ .path = "csrc/lua" });
        addLuaLibrary(dropin, v);
        const run_dropin = b.addRunArtifact(dropin);
        run_dropin.addArg("50"); // latency samples
        test_step.dependOn(&run_dropin.step);
    }

    // Zig 0.11 cannot link its ThreadSanitizer runtime into C programs, and
    // ships no AddressSanitizer: the sanitizer builds use the system clang.
    const clang = b.findProgram(&.{"clang"}, &.{}) catch {
        std.log.warn("clang not found: skipping the ThreadSanitizer and AddressSanitizer builds (apt-get install clang)", .{});
        return;
    };
    test_step.dependOn(sanitized(b, clang, "thread", "core_test", &.{"tests/native/core_test.c"}, null, seconds));
    test_step.dependOn(sanitized(b, clang, "thread", "inspect_test", &.{"tests/native/inspect_test.c"}, null, seconds));
    test_step.dependOn(sanitized(b, clang, "address", "stack_test", &.{"tests/native/stack_test.c"}, null, seconds));
    test_step.dependOn(sanitized(b, clang, "thread", "stack_test", &.{"tests/native/stack_test.c"}, null, seconds));
    test_step.dependOn(sanitized(b, clang, "address", "pool_test", &.{ "tests/native/pool_test.c", "csrc/lua/pool.c" }, null, seconds));
    for (lua_versions) |v| {
        if (!hasHeaders(v)) continue;
        for ([_][]const u8{ "thread", "address" }) |sanitizer| {
            test_step.dependOn(sanitized(b, clang, sanitizer, b.fmt("lua_stress-{s}", .{v.name}), &.{"tests/native/lua_stress.c"}, v, seconds));
        }
    }
}

// Compiles a test with clang and -fsanitize=<sanitizer>, then runs it.
fn sanitized(b: *std.Build, clang: []const u8, sanitizer: []const u8, name: []const u8, tests: []const []const u8, lua: ?LuaVersion, seconds: []const u8) *std.Build.Step {
    const cc = b.addSystemCommand(&.{ clang, "-O1", "-g", b.fmt("-fsanitize={s}", .{sanitizer}) });
    cc.addArgs(core_flags);
    cc.addArgs(&.{ "-Icsrc/core", "-Icsrc/lua" });
    cc.addArgs(tests);
    cc.addArgs(&core_sources);
    if (lua) |v| {
        cc.addArgs(&.{ b.fmt("-I{s}", .{v.include}), b.fmt("-l{s}", .{v.lib}) });
        if (v.luajit) cc.addArg("-DMTINT_LUAJIT=1");
        cc.addArgs(&lua_sources);
    }
    cc.addArgs(&.{ "-lpthread", "-lm", "-ldl", "-o" });
    const exe = cc.addOutputFileArg(b.fmt("{s}-{s}", .{ name, sanitizer }));
    const run = std.Build.Step.Run.create(b, b.fmt("run {s} ({s} sanitizer)", .{ name, sanitizer }));
    run.addFileArg(exe);
    run.addArg(seconds);
    run.setEnvironmentVariable("TSAN_OPTIONS", "halt_on_error=1");
    run.setEnvironmentVariable("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1");
    return &run.step;
}
