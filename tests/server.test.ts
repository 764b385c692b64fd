// The example server (examples/server.ts) answers normal and hostile
// scripts, each with the right JSON, while the others keep being served.
import assert from "node:assert/strict";
import { startServer } from "../examples/server.ts";
import { luaVersions, test } from "./harness.ts";

async function post(url: string, script: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${url}/run`, { method: "POST", body: script });
  return { status: response.status, body: await response.json() };
}

test("the example server: results, errors, runaways, memory bombs and bad requests as JSON", async () => {
  const lua = luaVersions[luaVersions.length - 1];
  const server = await startServer({ lua, size: 2, timeout: 500, memoryLimit: 4 * 1024 * 1024 });
  try {
    const cases: [string, number, (body: Record<string, any>) => void][] = [
      ["return 6 * 7, 'x', {a = 1}", 200, (b) => assert.deepEqual(b, { ok: true, values: [42, "x", { a: 1 }] })],
      ["error('nope')", 422, (b) => assert.match(b.error.message, /nope/)],
      ["return +", 422, (b) => assert.equal(b.error.kind, "syntax")],
      ["while true do end", 408, (b) => assert.equal(b.error.kind, "interrupted")],
      ["local t = {} for i = 1, 1e8 do t[i] = i end", 422, (b) => assert.equal(b.error.kind, "memory")],
      ["return string.rep('x', 64 * 1024 * 1024)", 422, (b) => assert.equal(b.error.kind, "memory")],
      ["os.exit(1)", 422, (b) => assert.match(b.error.message, /os\.exit is disabled/)],
      ["return print", 422, (b) => assert.equal(b.error.kind, "value")],
      ["return x", 200, (b) => assert.deepEqual(b, { ok: true, values: [null] })],
    ];
    const answers = await Promise.all(cases.map(([script]) => post(server.url, script)));
    answers.forEach(({ status, body }, i) => {
      assert.equal(status, cases[i][1], `${cases[i][0]}: ${JSON.stringify(body)}`);
      cases[i][2](body);
    });
    // Globals do not leak from one request to the next (fresh state each time).
    await post(server.url, "leaked = 'secret'");
    for (let i = 0; i < 4; i++) assert.deepEqual((await post(server.url, "return leaked")).body.values, [null]);
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => post(server.url, `return ${i}`)));
    many.forEach(({ body }, i) => assert.deepEqual(body.values, [i]));
    assert.equal((await fetch(`${server.url}/run`)).status, 405);
    assert.equal((await fetch(`${server.url}/other`, { method: "POST", body: "" })).status, 404);
    assert.equal((await post(server.url, "--" + "x".repeat(70_000))).status, 413);
    const stats = server.pool.stats();
    assert.equal(stats.replaced, 0);
    assert.ok(stats.completed >= 55, JSON.stringify(stats));
  } finally {
    await server.close();
  }
});
