/**
 * Profiles a real script while it runs: a word-frequency report over
 * generated text (tokenizing with string.gmatch, counting in a table,
 * sorting, formatting), sampled by the native watchdog at 1 kHz. Prints
 * the hottest stacks and writes the flame graph (docs/profile.svg is this
 * example's output on Lua 5.4). Samples are taken at Lua instructions, so
 * the time of a C function (string.gmatch's iterator, table.concat) is
 * counted in the Lua function that called it; a C function that calls
 * back into Lua (table.sort's comparator) shows as a frame of its own.
 *
 * Run: deno run --allow-ffi --allow-read --allow-env --allow-write examples/profile.ts [out.svg]
 *      bun examples/profile.ts [out.svg]
 */
import { writeFileSync } from "node:fs";
import { type LuaVersion, LuaWorker, type ProfileResult } from "../mod.ts";

const SCRIPT = `
local words = { "lua", "worker", "stack", "frame", "sample", "flame", "graph", "hook", "pause", "resume",
  "thread", "signal", "table", "string", "coroutine", "closure", "metatable", "garbage", "collector", "number" }

local function make_text(n, seed)
  local out = {}
  for i = 1, n do
    seed = (seed * 1103515245 + 12345) % 2147483648
    out[i] = words[seed % #words + 1]
  end
  return table.concat(out, " "), seed
end

local function normalize(word)
  if #word > 3 and word:sub(-1) == "s" then word = word:sub(1, -2) end
  return word:lower()
end

local function tokenize(text, counts)
  for word in string.gmatch(text, "%a+") do
    word = normalize(word)
    counts[word] = (counts[word] or 0) + 1
  end
end

local function ranked(counts)
  local list = {}
  for word, n in pairs(counts) do list[#list + 1] = { word = word, n = n } end
  table.sort(list, function(a, b) if a.n ~= b.n then return a.n > b.n end return a.word < b.word end)
  return list
end

local function report(list)
  local lines = {}
  for i, e in ipairs(list) do lines[i] = string.format("%-10s %8d", e.word, e.n) end
  return table.concat(lines, "\\n")
end

local counts, seed = {}, 42
for round = 1, ... do
  local text
  text, seed = make_text(20000, seed)
  tokenize(text, counts)
  if round % 2 == 0 then
    local many = {}
    for i = 1, 3000 do many[("w%d"):format(i)] = (i * 7919) % 1000 end
    report(ranked(many))
  end
end
return report(ranked(counts))
`;

/** Runs the script under a 1 kHz profile and returns what the profile found. */
export async function profileExample(lua?: LuaVersion, rounds = 60): Promise<ProfileResult> {
  await using worker = await LuaWorker.create({ lua });
  const profile = worker.profile({ hz: 1000 });
  await worker.run(SCRIPT, { args: [rounds], name: "wordfreq" });
  return await profile.stop();
}

if (import.meta.main) {
  const out = (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ??
    (globalThis as { process?: { argv: string[] } }).process?.argv[2] ?? "profile.svg";
  const result = await profileExample("5.4");
  console.log(`${result.samples} samples; the hottest stacks:`);
  console.log(result.folded.split("\n").slice(0, 5).join("\n"));
  writeFileSync(out, result.svg); // docs/profile.svg went through `deno fmt` after
  console.log(`flame graph written to ${out}`);
}
