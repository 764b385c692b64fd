/**
 * Serves a directory on 127.0.0.1 as JSR serves a package (files by path,
 * TypeScript as application/typescript); prints the port, then serves
 * until killed. Used by tests/dist/run.sh.
 *
 * @module
 */
import { extname, join, normalize } from "node:path";

const root = Deno.args[0];
const types: Record<string, string> = { ".ts": "application/typescript", ".json": "application/json" };

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) },
  async (req) => {
    const path = normalize(decodeURIComponent(new URL(req.url).pathname));
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(join(root, path));
      return new Response(body, { headers: { "content-type": types[extname(path)] ?? "application/octet-stream" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  },
);
await server.finished;
