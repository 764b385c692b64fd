/**
 * Delta debugging on a statement tree: removes statements and subtrees,
 * and replaces a compound statement by its body, while the failure
 * persists. Greedy, one change at a time, until nothing more goes.
 *
 * @module
 */
import type { Node } from "./grammar.ts";

type Path = number[];

function clone(nodes: readonly Node[]): Node[] {
  return nodes.map((n) => ({ ...n, body: n.body ? clone(n.body) : undefined }));
}

function listAt(nodes: Node[], path: Path): Node[] {
  let list = nodes;
  for (const i of path) list = list[i].body!;
  return list;
}

// Every statement's path, outermost first.
function paths(nodes: readonly Node[], prefix: Path = []): Path[] {
  const out: Path[] = [];
  nodes.forEach((n, i) => {
    out.push([...prefix, i]);
    if (n.body) out.push(...paths(n.body, [...prefix, i]));
  });
  return out;
}

function without(nodes: readonly Node[], path: Path, hoist: boolean): Node[] | undefined {
  const copy = clone(nodes);
  const list = listAt(copy, path.slice(0, -1));
  const i = path[path.length - 1];
  if (!hoist) {
    list.splice(i, 1);
    return copy;
  }
  const body = list[i].body;
  if (!body || body.length === 0) return undefined;
  list.splice(i, 1, ...body);
  return copy;
}

/** The smallest program found that still `fails`. */
export async function shrink(nodes: Node[], fails: (candidate: Node[]) => Promise<boolean>): Promise<Node[]> {
  let best = clone(nodes);
  // First halves of the top level, then single statements, then hoisting.
  for (let chunk = Math.floor(best.length / 2); chunk >= 2; chunk = Math.floor(chunk / 2)) {
    for (let at = 0; at + chunk <= best.length;) {
      const candidate = [...best.slice(0, at), ...best.slice(at + chunk)];
      if (candidate.length && await fails(candidate)) best = candidate;
      else at += chunk;
    }
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const hoist of [false, true]) {
      // Paths go stale after a change: restart from the new tree.
      for (const path of paths(best).reverse()) {
        const candidate = without(best, path, hoist);
        if (!candidate || candidate.length === 0) continue;
        if (await fails(candidate)) {
          best = candidate;
          changed = true;
          break;
        }
      }
      if (changed) break;
    }
  }
  return best;
}
