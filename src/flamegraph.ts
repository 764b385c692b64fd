/**
 * A self-contained SVG flame graph from folded stacks (`outer;inner count`
 * per line): the root at the bottom, each frame as wide as its samples,
 * siblings in name order. Hovering a frame shows its name and samples
 * (an SVG `<title>`); no script, no external font or style.
 *
 * @module
 */

interface Node {
  name: string;
  total: number;
  children: Map<string, Node>;
}

const WIDTH = 1200;
const ROW = 17;
const PAD = 10;
const TOP = 34;
const CHAR_PX = 6.6; // about 11px sans-serif

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    // XML 1.0 forbids most control characters, even escaped.
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "?");
}

/** A warm colour from the frame's name, the same name the same colour. */
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${80 + ((h >> 8) % 130)},${40 + ((h >> 16) % 50)})`;
}

/** Parses folded text into a tree. */
function parse(folded: string): Node {
  const root: Node = { name: "all", total: 0, children: new Map() };
  for (const line of folded.split("\n")) {
    const space = line.lastIndexOf(" ");
    if (space <= 0) continue;
    const count = Number(line.slice(space + 1));
    if (!(count > 0)) continue;
    root.total += count;
    let node = root;
    for (const frame of line.slice(0, space).split(";")) {
      let child = node.children.get(frame);
      if (!child) node.children.set(frame, child = { name: frame, total: 0, children: new Map() });
      child.total += count;
      node = child;
    }
  }
  return root;
}

function depthOf(node: Node): number {
  let d = 0;
  for (const child of node.children.values()) d = Math.max(d, depthOf(child));
  return d + 1;
}

/** The SVG flame graph of `folded`, titled with `subtitle`. */
export function flameGraph(folded: string, subtitle: string): string {
  const root = parse(folded);
  const depth = depthOf(root);
  const height = TOP + depth * ROW + PAD;
  const scale = root.total > 0 ? (WIDTH - 2 * PAD) / root.total : 0;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Verdana, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfaf3"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15">Flame graph</text>`,
    `<text x="${WIDTH - PAD}" y="20" text-anchor="end" fill="#666">${esc(subtitle)}</text>`,
  ];
  const draw = (node: Node, x: number, level: number) => {
    const w = node.total * scale;
    if (w < 0.3) return; // too thin to see; its samples still count in its parents
    const y = height - PAD - (level + 1) * ROW;
    const pct = root.total ? (100 * node.total / root.total).toFixed(2) : "0";
    const label = `${node.name} (${node.total} sample${node.total === 1 ? "" : "s"}, ${pct}%)`;
    out.push(
      `<g><title>${esc(label)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${
        ROW - 1
      }" rx="2" fill="${level === 0 ? "#c8c8c8" : colour(node.name)}"/>`,
    );
    const fits = Math.floor((w - 6) / CHAR_PX);
    if (fits >= 3) {
      const shown = node.name.length <= fits ? node.name : `${node.name.slice(0, fits - 2)}..`;
      out.push(`<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${esc(shown)}</text>`);
    }
    out.push(`</g>`);
    let cx = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      draw(child, cx, level + 1);
      cx += child.total * scale;
    }
  };
  draw(root, PAD, 0);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
