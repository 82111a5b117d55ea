/** The HTML report of `lrp-tape evaluate`: the summary tables, the mean perturbation curves as inline SVG, example heatmaps. */
import type { Tensor } from '../engine/index.js';
import type { Evaluation } from '../evaluation/index.js';
import { grid, heatmap, resize, tensorDataToImage, type Image } from '../image/index.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const COLORS = ['#d62728', '#1f77b4', '#7f7f7f', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** One SVG plot: the mean MoRF (solid) and LeRF (dashed) curve of every method. */
export function curvesSvg(ev: Evaluation, title: string): string {
  const W = 420;
  const H = 260;
  const m = { l: 46, r: 10, t: 24, b: 36 };
  const px = (f: number) => m.l + f * (W - m.l - m.r);
  const py = (v: number) => H - m.b - v * (H - m.t - m.b);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`];
  parts.push(`<text x="${W / 2}" y="14" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${m.l - 4}" y="${py(t) + 4}" text-anchor="end">${t}</text><text x="${px(t)}" y="${H - m.b + 14}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle">fraction of patches replaced</text>`);
  parts.push(`<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">p(target class)</text>`);
  Object.entries(ev.methods).forEach(([name, r], i) => {
    if (!r.curves) return;
    const c = COLORS[i % COLORS.length]!;
    for (const [dir, dash] of [['morf', ''], ['lerf', ' stroke-dasharray="5 3"']] as const) {
      const ys = r.curves[dir];
      const pts = ys.map((v, k) => `${px(k / (ys.length - 1)).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="1.6"${dash}/>`);
    }
    parts.push(`<text x="${W - m.r - 6}" y="${m.t + 14 + 13 * i}" text-anchor="end" fill="${c}">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * One row per image: the input (un-normalised with `mean` and `std`), then one heatmap per column
 * ([N, H, W] channel-summed relevance), each normalised on its own; small images are scaled up
 * (nearest neighbour) to about 96 pixels.
 */
export function exampleGrid(x: Tensor, columns: readonly { maps: Float32Array | null }[], norm: { mean: number[]; std: number[] }): Image {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const scale = Math.max(1, Math.floor(96 / Math.max(H, W)));
  const up = (img: Image) => (scale === 1 ? img : resize(img, { width: W * scale, height: H * scale, method: 'nearest' }));
  const cells: Image[] = [];
  for (let i = 0; i < N; i++) {
    for (const col of columns) {
      cells.push(up(col.maps === null
        ? tensorDataToImage({ data: x.data.subarray(i * C * H * W, (i + 1) * C * H * W), shape: [C, H, W] }, norm)
        : heatmap({ data: col.maps.subarray(i * H * W, (i + 1) * H * W), shape: [H, W] }, { cmap: 'bwr' })));
    }
  }
  return grid(cells, { cols: columns.length, padding: 4, margin: 4 });
}

/** `examples`: per model, a PNG data URI of the example heatmaps (columns: input, then `methods`). */
export function evaluationHtml(
  results: Record<string, Evaluation>,
  s: { description: string; target: string; patch: number; steps: number; baseline: string; methods?: string[]; examples?: Record<string, string> },
): string {
  const sections = Object.entries(results).map(([model, ev]) => {
    const methods = Object.keys(ev.methods);
    const rows = ev.metrics.map((metric) => `<tr><th>${esc(metric)}</th>${methods.map((m) => {
      const v = ev.methods[m]!.metrics[metric]!.summary;
      return `<td>${v.mean.toFixed(3)} <small>[${v.low.toFixed(3)}, ${v.high.toFixed(3)}]</small></td>`;
    }).join('')}</tr>`);
    rows.push(`<tr><th>time per explanation</th>${methods.map((m) => `<td>${(1000 * ev.methods[m]!.secondsPerExplanation).toFixed(2)} ms</td>`).join('')}</tr>`);
    return `<h2>${esc(model)} model</h2><table><tr><th></th>${methods.map((m) => `<th>${esc(m)}</th>`).join('')}</tr>${rows.join('')}</table>${curvesSvg(ev, `${model}: MoRF (solid) and LeRF (dashed)`)}${
      s.examples?.[model] ? `<p>Example heatmaps (columns: input, ${esc((s.methods ?? []).join(', '))}; red positive, blue negative, each map scaled on its own):</p><img src="${s.examples[model]}" alt="${esc(model)} heatmaps">` : ''
    }`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>lrp-tape evaluate</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;text-align:right}th{text-align:left}</style></head><body>
<h1>lrp-tape evaluate</h1>
<p>${esc(s.description)}. Pixel flipping: ${s.steps} steps, ${s.patch}x${s.patch} patches, '${esc(s.baseline)}' baseline, score = softmax probability of ${esc(s.target)}. Mean over the images with the 95% confidence interval of the mean. Definitions: docs/EVALUATION.md.</p>
${sections.join('\n')}
</body></html>
`;
}
