/**
 * Hand-written SVG charts for the report: latency distributions (CDFs on a
 * log time axis) and a bar chart of relative times. No dependencies; every
 * mark comes from the numbers passed in.
 *
 * @module
 */

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** Samples in µs. */
  values: number[];
}

export interface Panel {
  title: string;
  series: Series[];
  /** Vertical reference lines: [µs, label]. */
  marks?: [number, string][];
}

const FONT = `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"`;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function timeLabel(us: number): string {
  if (us >= 1000) return `${us / 1000} ms`;
  return `${us} µs`;
}

/** Side-by-side CDF panels, x = latency (log), y = fraction of samples ≤ x (tail-stretched). */
export function cdfChart(title: string, subtitle: string, panels: Panel[]): string {
  const pw = 440, ph = 300, left = 56, top = 64, gap = 40, legendH = 22 * Math.ceil(maxSeries(panels) / 2) + 16;
  const width = left + panels.length * (pw + gap) - gap + 24;
  const height = top + ph + 48 + legendH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="42" fill="#555">${esc(subtitle)}</text>`);
  panels.forEach((panel, i) => {
    const x0 = left + i * (pw + gap), y0 = top;
    const all = panel.series.flatMap((s) => s.values).filter((v) => v > 0);
    const markValues = (panel.marks ?? []).map((m) => m[0]);
    const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all, ...markValues))));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, ...markValues)));
    const lx = (v: number) =>
      x0 + (Math.log10(Math.min(hi, Math.max(lo, v))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * pw;
    // y: the fraction F, linear up to p90 (60 % of the height), then stretched
    // as -log10(1 - F) up to p99.9, so that the tail shows.
    const yOf = (f: number) =>
      f <= 0.9 ? 0.6 * f / 0.9 : 0.6 + 0.4 * Math.min(1, (-Math.log10(Math.max(1e-9, 1 - f)) - 1) / 2);
    const ly = (f: number) => y0 + ph - yOf(f) * ph;
    out.push(`<text x="${x0}" y="${y0 - 8}" font-weight="600">${esc(panel.title)}</text>`);
    out.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let d = lo; d <= hi * 1.0001; d *= 10) {
      for (const k of [1, 2, 5]) {
        const v = d * k;
        if (v > hi * 1.0001) break;
        const x = lx(v).toFixed(1);
        out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + ph}" stroke="${k === 1 ? "#ddd" : "#f0f0f0"}"/>`);
        if (k === 1) {
          out.push(
            `<text x="${x}" y="${y0 + ph + 16}" text-anchor="middle" fill="#333">${
              timeLabel(+v.toPrecision(3))
            }</text>`,
          );
        }
      }
    }
    const ticks = [[0, "0"], [0.25, "p25"], [0.5, "p50"], [0.75, "p75"], [0.9, "p90"], [0.99, "p99"], [0.999, "p99.9"]];
    for (const [f, label] of ticks as [number, string][]) {
      const y = ly(f).toFixed(1);
      out.push(
        `<line x1="${x0}" y1="${y}" x2="${x0 + pw}" y2="${y}" stroke="${f === 0.5 || f === 0.99 ? "#bbb" : "#eee"}"/>`,
      );
      out.push(`<text x="${x0 - 6}" y="${+y + 4}" text-anchor="end" fill="#333">${label}</text>`);
    }
    (panel.marks ?? []).forEach(([v, label], k) => {
      const x = lx(v).toFixed(1);
      const color = label.startsWith("C ") ? "#555" : "#c00";
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + ph}" stroke="${color}" stroke-dasharray="2,3"/>`);
      out.push(`<text x="${+x + 3}" y="${y0 + ph - 8 - 14 * k}" fill="${color}" font-size="11">${esc(label)}</text>`);
    });
    for (const s of panel.series) {
      const xs = [...s.values].sort((a, b) => a - b);
      if (xs.length === 0) continue;
      const pts: string[] = [];
      for (let k = 0; k < xs.length; k++) pts.push(`${lx(xs[k]).toFixed(1)},${ly((k + 0.5) / xs.length).toFixed(1)}`);
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="1.6"${
          s.dashed ? ` stroke-dasharray="5,3"` : ""
        } points="${pts.join(" ")}"/>`,
      );
    }
    out.push(
      `<text x="${x0 + pw / 2}" y="${y0 + ph + 34}" text-anchor="middle" fill="#333">latency (log scale)</text>`,
    );
  });
  // One legend for all panels (the same series in each).
  const legend = panels[0]?.series ?? [];
  legend.forEach((s, k) => {
    const x = left + (k % 2) * 300, y = top + ph + 58 + Math.floor(k / 2) * 22;
    out.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 28}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${
        s.dashed ? ` stroke-dasharray="5,3"` : ""
      }/>`,
    );
    out.push(`<text x="${x + 34}" y="${y}">${esc(s.label)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

function maxSeries(panels: Panel[]): number {
  return Math.max(0, ...panels.map((p) => p.series.length));
}

export interface BarGroup {
  label: string;
  bars: { label: string; color: string; value: number }[];
}

/** Horizontal grouped bars on a log axis of ratios (1 = the reference). */
export function ratioBars(title: string, subtitle: string, groups: BarGroup[], reference: string): string {
  const left = 150, top = 64, pw = 560, barH = 13, groupGap = 14;
  const nBars = groups.reduce((n, g) => n + g.bars.length, 0);
  const ph = nBars * barH + groups.length * groupGap;
  const legend = groups[0]?.bars ?? [];
  const width = left + pw + 90;
  const height = top + ph + 44 + 22 * Math.ceil(legend.length / 3);
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0 && Number.isFinite(v));
  const lo = 10 ** Math.floor(Math.log10(Math.min(0.5, ...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(2, ...values)));
  const lx = (v: number) => left + (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * pw;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="16" y="42" fill="#555">${esc(subtitle)}</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v > hi * 1.0001) break;
      const x = lx(v).toFixed(1);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="${k === 1 ? "#ddd" : "#f2f2f2"}"/>`);
      out.push(`<text x="${x}" y="${top + ph + 16}" text-anchor="middle" fill="#333">${+v.toPrecision(3)}×</text>`);
    }
  }
  const x1 = lx(1).toFixed(1);
  out.push(`<line x1="${x1}" y1="${top - 6}" x2="${x1}" y2="${top + ph}" stroke="#000"/>`);
  out.push(`<text x="${x1}" y="${top - 10}" text-anchor="middle" font-size="11">${esc(reference)}</text>`);
  let y = top;
  for (const g of groups) {
    y += groupGap / 2;
    out.push(
      `<text x="${left - 8}" y="${y + (g.bars.length * barH) / 2 + 4}" text-anchor="end" font-weight="600">${
        esc(g.label)
      }</text>`,
    );
    for (const b of g.bars) {
      if (b.value > 0 && Number.isFinite(b.value)) {
        const a = Math.min(lx(1), lx(b.value)), w = Math.abs(lx(b.value) - lx(1));
        out.push(
          `<rect x="${a.toFixed(1)}" y="${y + 1}" width="${Math.max(1, w).toFixed(1)}" height="${
            barH - 2
          }" fill="${b.color}"/>`,
        );
        out.push(
          `<text x="${(Math.max(lx(1), lx(b.value)) + 4).toFixed(1)}" y="${y + barH - 3}" font-size="10" fill="#333">${
            b.value.toFixed(2)
          }×</text>`,
        );
      }
      y += barH;
    }
    y += groupGap / 2;
  }
  out.push(
    `<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle" fill="#333">time relative to ${
      esc(reference)
    } (log scale, lower is faster)</text>`,
  );
  legend.forEach((b, k) => {
    const lxp = 16 + (k % 3) * 250, ly = top + ph + 60 + Math.floor(k / 3) * 22;
    out.push(`<rect x="${lxp}" y="${ly - 10}" width="14" height="10" fill="${b.color}"/>`);
    out.push(`<text x="${lxp + 20}" y="${ly}">${esc(b.label)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
