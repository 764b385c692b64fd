/**
 * An HTTP server that runs the Lua script posted to it in a LuaPool, with a
 * timeout and a memory limit, and answers with the result or the error as
 * JSON. The same file runs under Deno (Deno.serve) and Bun (Bun.serve):
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-net examples/server.ts [--port 8080] [--lua 5.4]
 *   bun examples/server.ts [--port 8080] [--lua 5.4]
 *   curl -d 'return 6 * 7' http://127.0.0.1:8080/run     # {"ok":true,"values":[42]}
 *
 * @module
 */
import { LuaError, LuaPool, LuaPoolError, type LuaValue, type LuaVersion, MtintError } from "../mod.ts";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  lua?: LuaVersion;
  /** Workers in the pool. */
  size?: number;
  /** ms a script may run. */
  timeout?: number;
  /** bytes a script's state may use. */
  memoryLimit?: number;
}

/** A running server. */
export interface Server {
  url: string;
  pool: LuaPool;
  close(): Promise<void>;
}

/** Scripts larger than this are refused (413). */
const MAX_SCRIPT = 64 * 1024;

/** What the server answers, with its HTTP status. */
type Answer = { status: number; body: Record<string, unknown> };

// JSON has no bigint and no bytes: numbers too large for a double come back
// as decimal strings, non-UTF-8 strings as arrays of bytes. A Lua function
// (a handle of a state the pool resets after the task) has no JSON form.
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "function") throw new TypeError("a Lua function cannot be answered as JSON");
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

function failure(status: number, kind: string, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { ok: false, error: { kind, message, ...extra } } };
}

/** Runs one posted script and describes the outcome. */
async function answer(pool: LuaPool, request: Request): Promise<Answer> {
  const url = new URL(request.url);
  if (url.pathname !== "/run") return failure(404, "not_found", "POST a Lua script to /run");
  if (request.method !== "POST") return failure(405, "method", "POST a Lua script to /run");
  const script = await request.text();
  if (script.length > MAX_SCRIPT) return failure(413, "too_large", `scripts are limited to ${MAX_SCRIPT} bytes`);
  try {
    const values: LuaValue[] = await pool.run(script, { name: "script" });
    JSON.stringify(values, jsonValue); // throws for what JSON cannot hold
    return { status: 200, body: { ok: true, values } };
  } catch (err) {
    if (err instanceof LuaError) {
      return failure(422, err.code, err.message, { line: err.line });
    }
    if (err instanceof MtintError) return failure(408, err.code, err.message);
    if (err instanceof LuaPoolError) return failure(503, err.code, err.message);
    if (err instanceof TypeError || err instanceof RangeError) return failure(422, "value", err.message);
    return failure(500, "internal", err instanceof Error ? err.message : String(err));
  }
}

/** Starts the pool and the server; resolves once it listens on 127.0.0.1. */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const pool = await LuaPool.create({
    lua: options.lua,
    size: options.size ?? 2,
    timeout: options.timeout ?? 100,
    memoryLimit: options.memoryLimit ?? 8 * 1024 * 1024,
    maxQueue: 256,
  });
  const handle = async (request: Request): Promise<Response> => {
    const { status, body } = await answer(pool, request);
    return new Response(JSON.stringify(body, jsonValue), { status, headers: { "content-type": "application/json" } });
  };
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const hostname = "127.0.0.1";
  if (g.Deno) {
    const server = g.Deno.serve({ port: options.port ?? 0, hostname, onListen() {} }, handle);
    return {
      url: `http://${hostname}:${server.addr.port}`,
      pool,
      async close() {
        await server.shutdown();
        await pool.close();
      },
    };
  }
  const server = g.Bun.serve({ port: options.port ?? 0, hostname, fetch: handle });
  return {
    url: `http://${hostname}:${server.port}`,
    pool,
    async close() {
      server.stop(true);
      await pool.close();
    },
  };
}

// deno-lint-ignore no-explicit-any
if ((import.meta as any).main) {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const server = await startServer({ port: Number(option("port") ?? 8080), lua: option("lua") as LuaVersion });
  console.log(`listening on ${server.url} (POST a Lua script to /run)`);
}
