// The value format's limits are defined once on each side (src/codec.ts,
// csrc/lua/codec.h); this checks that the two agree.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MAX_BYTES, MAX_DEPTH, MAX_VALUES } from "../src/codec.ts";
import { test } from "./harness.ts";

const header = readFileSync(fileURLToPath(new URL("../csrc/lua/codec.h", import.meta.url)), "utf8");

function defined(name: string): number {
  const match = header.match(new RegExp(`^#define ${name} (\\d+)\\b`, "m"));
  assert.ok(match, `codec.h defines no ${name} as a plain number`);
  return Number(match[1]);
}

test("codec limits: src/codec.ts and csrc/lua/codec.h agree", () => {
  assert.equal(defined("CODEC_MAX_DEPTH"), MAX_DEPTH);
  assert.equal(defined("CODEC_MAX_VALUES"), MAX_VALUES);
  assert.equal(defined("CODEC_MAX_BYTES"), MAX_BYTES);
});
