// Everything that crosses between C and TypeScript is defined once on each
// side: src/protocol.ts (and the error values of src/errors.ts) against the
// C headers. Parses the headers and compares every value, both ways.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { error } from "../src/errors.ts";
import * as protocol from "../src/protocol.ts";
import { test } from "./harness.ts";

const read = (path: string) => readFileSync(new URL(`../csrc/${path}`, import.meta.url), "utf8");

/** `NAME = n` (enum members) and `#define NAME n` of a header. */
function numbers(path: string): Map<string, number> {
  const text = read(path);
  const found = new Map<string, number>();
  for (const m of text.matchAll(/\b([A-Z][A-Z0-9_]*) = (-?\d+)\b/g)) found.set(m[1], Number(m[2]));
  for (const m of text.matchAll(/^#define ([A-Z][A-Z0-9_]*) (-?\d+)\b/gm)) found.set(m[1], Number(m[2]));
  return found;
}

const host = numbers("lua/host.h");
const codec = numbers("lua/codec.h");
const core = numbers("core/mtint_core.h");
const handles = numbers("lua/handles.h");

// Each TypeScript constant and its C home; the C families must have no
// member without a TypeScript twin.
const twins: Record<string, [Map<string, number>, string]> = {};
const family = (header: Map<string, number>, prefix: string, rename = (c: string) => c) => {
  const members = [...header.keys()].filter((name) => name.startsWith(prefix));
  assert.ok(members.length > 0, `no ${prefix}* in its header`);
  for (const c of members) twins[rename(c)] = [header, c];
};
family(host, "FLAG_");
family(host, "RESULT_");
family(host, "HOST_CALL_");
family(host, "ANSWER_");
family(host, "ERROR_VALUE_");
family(codec, "TAG_");
family(codec, "CODEC_MAX_", (c) => c.slice("CODEC_".length));
family(handles, "HANDLES_MAX", () => "MAX_HANDLES");
family(core, "MT_CAUSE_", (c) => c.slice("MT_".length));
family(core, "MTINT_E_", (c) => `STATUS_${c.slice("MTINT_E_".length)}`);
for (const mode of ["NONE", "ONCE", "ALWAYS"]) twins[`MODE_${mode}`] = [core, `MT_${mode}`];
// The channel's request kinds never reach C.
const TS_ONLY = ["RUN", "CLOSE", "VIA_MESSAGE", "RESET", "DEFINE", "CALL", "RELEASE"];

test("every constant of src/protocol.ts equals its twin in csrc/ (and every C one has a twin)", () => {
  const exported = Object.entries(protocol).filter(([, v]) => typeof v === "number") as [string, number][];
  for (const [name, value] of exported) {
    if (TS_ONLY.includes(name)) continue;
    assert.ok(twins[name], `src/protocol.ts: ${name} has no C twin (add it to a header and to this test)`);
    const [header, c] = twins[name];
    assert.equal(value, header.get(c), `${name} (TS) vs ${c} (C)`);
  }
  for (const name of Object.keys(twins)) {
    assert.ok(exported.some(([n]) => n === name), `C's ${twins[name][1]} has no twin ${name} in src/protocol.ts`);
  }
});

test("the mtint.error values of src/errors.ts equal csrc/lua/world.h's", () => {
  const header = read("lua/world.h");
  const values = new Map(
    [...header.matchAll(/^#define ERR_([A-Z_]+) "([^"]+)"/gm)].map((m) => [m[1].toLowerCase(), m[2]]),
  );
  assert.deepEqual(Object.fromEntries(values), error);
});
