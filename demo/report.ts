/** The demo's output files: heatmap grids (PNG), index.html and metrics.json. */
import { join } from 'node:path';
import { grid, heatmap, resize, tensorDataToImage, type Image } from '../image/index.js';
import { writePng } from '../node/index.js';
import { writeFileAtomic } from './files.js';
import type { DemoMetrics } from './metrics.js';

export interface GridColumn {
  title: string;
  /** [N, H, W] channel-summed relevance (or null for the input column). */
  maps: Float32Array | null;
}

const SCALE = 4;

function upscale(img: Image): Image {
  return resize(img, { width: img.width * SCALE, height: img.height * SCALE, method: 'nearest' });
}

/**
 * One row per example: the input, then one heatmap per model. Each heatmap is normalised on its
 * own (symmetric: white is zero, red positive, blue negative).
 */
export function heatmapGrid(inputs: Float32Array, n: number, size: number, columns: readonly GridColumn[], cmap = 'bwr'): Image {
  const hw = size * size;
  const cells: Image[] = [];
  for (let i = 0; i < n; i++) {
    for (const col of columns) {
      if (col.maps === null) {
        cells.push(upscale(tensorDataToImage({ data: inputs.subarray(i * 3 * hw, (i + 1) * 3 * hw), shape: [3, size, size] })));
      } else {
        cells.push(upscale(heatmap({ data: col.maps.subarray(i * hw, (i + 1) * hw), shape: [size, size] }, { cmap })));
      }
    }
  }
  return grid(cells, { cols: columns.length, padding: 4, margin: 4 });
}

export function writeGrid(path: string, img: Image): void {
  writePng(path, img);
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function writeMetrics(out: string, m: DemoMetrics): void {
  writeFileAtomic(join(out, 'metrics.json'), `${JSON.stringify(m, null, 2)}\n`);
}

/** A heatmap grid image and what its rows and columns show. */
export interface ReportGrid {
  file: string;
  caption: string;
  rows: string[];
  columns: string[];
}

const TIMING_NAMES: Record<string, string> = {
  dataSeconds: 'making the data sets',
  plainTrainSeconds: 'training the plain model',
  guidedTrainSeconds: 'training the guided model',
  evaluationSeconds: 'evaluating both models',
  reportSeconds: 'writing this report',
  totalSeconds: 'total',
};

/** The headline as a small bar chart: decoy share and randomised accuracy, plain vs guided. */
function headlineChart(m: DemoMetrics): string {
  const bars: [string, number, number][] = [
    ['decoy share of relevance', m.plain.decoyShare.consistent, m.guided.decoyShare.consistent],
    ['accuracy, randomised patches', m.plain.accuracy.randomised, m.guided.accuracy.randomised],
  ];
  const w = 320;
  const rowH = 56;
  const barW = (v: number): number => Math.max(1, Math.round(v * (w - 150)));
  const parts = bars.map(([label, p, g], i) => {
    const y = i * rowH;
    return `<text x="0" y="${y + 12}" class="l">${label}</text>
<rect x="60" y="${y + 18}" width="${barW(p)}" height="14" fill="#888"/><text x="0" y="${y + 30}">plain</text><text x="${64 + barW(p)}" y="${y + 30}">${pct(p)}</text>
<rect x="60" y="${y + 36}" width="${barW(g)}" height="14" fill="#2a7"/><text x="0" y="${y + 48}">guided</text><text x="${64 + barW(g)}" y="${y + 48}">${pct(g)}</text>`;
  });
  return `<svg class="chart" viewBox="0 0 ${w} ${bars.length * rowH}" role="img" aria-label="decoy share and randomised accuracy, plain vs guided">${parts.join('\n')}</svg>`;
}

/** A grid with its column titles above and its row labels beside it. */
function labelledGrid(g: ReportGrid): string {
  return `<figure class="grid">
<div class="cols"><span></span>${g.columns.map((c) => `<span>${esc(c)}</span>`).join('')}</div>
<div class="body"><div class="rows">${g.rows.map((r) => `<span>${esc(r)}</span>`).join('')}</div><img src="${esc(g.file)}" alt="${esc(`${g.caption}: ${g.columns.join(', ')} for ${g.rows.length} images`)}"></div>
<figcaption>${esc(g.caption)}</figcaption>
</figure>`;
}

export function writeHtml(out: string, m: DemoMetrics, grids: ReportGrid[]): void {
  const s = m.settings;
  const row = (name: string, r: DemoMetrics['plain']): string =>
    `<tr><th>${name}</th><td>${pct(r.accuracy.consistent)}</td><td>${pct(r.accuracy.randomised)}</td><td>${pct(r.decoyShare.consistent)}</td><td>${pct(r.decoyShare.randomised)}</td><td>${r.trainSeconds.toFixed(1)} s</td></tr>`;
  const epochs = (r: DemoMetrics['plain']): string =>
    r.history.map((e) => `<tr><td>${e.epoch + 1}</td><td>${e.loss.toFixed(4)}</td><td>${e.penalty.toFixed(4)}</td><td>${pct(e.accuracy)}</td><td>${e.seconds.toFixed(2)} s</td></tr>`).join('\n');
  const settings = Object.entries(s)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(JSON.stringify(v))}</code></td></tr>`)
    .join('\n');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lrp-tape demo: explanation-guided training against a decoy</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f4f4f4; text-align: left; }
figure { display: inline-block; margin: 1rem 1rem 1rem 0; vertical-align: top; max-width: 100%; }
figcaption { font-size: 0.9rem; max-width: 22rem; }
figure.grid { width: min(100%, 30rem); }
.grid .cols, .grid .body { display: grid; grid-template-columns: 7.5rem minmax(0, 1fr); }
.grid .cols { grid-template-columns: 7.5rem repeat(${Math.max(1, grids[0]?.columns.length ?? 3)}, minmax(0, 1fr)); font-size: 0.8rem; font-weight: 600; text-align: center; }
.grid .rows { display: flex; flex-direction: column; font-size: 0.75rem; }
.grid .rows span { flex: 1; display: flex; align-items: center; padding-right: 0.4rem; }
.grid img { width: 100%; height: auto; image-rendering: pixelated; }
.colourbar { display: flex; align-items: center; gap: 0.5rem; font-size: 0.85rem; flex-wrap: wrap; }
.colourbar .bar { width: 12rem; height: 0.9rem; border: 1px solid #999; background: linear-gradient(to right, #0000ff, #ffffff, #ff0000); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: 0.6rem; }
.tables { overflow-x: auto; }
.chart { width: 100%; max-width: 26rem; font-size: 11px; }
.chart .l { font-weight: 600; }
@media (max-width: 600px) { body { margin: 1rem auto; } th, td { padding: 0.2rem 0.3rem; font-size: 0.85rem; } .grid .cols, .grid .body { grid-template-columns: 5rem minmax(0, 1fr); } .grid .cols { grid-template-columns: 5rem repeat(${Math.max(1, grids[0]?.columns.length ?? 3)}, minmax(0, 1fr)); } }
.verdict { padding: 0.8rem 1rem; border-left: 4px solid ${m.verdict.asExpected ? '#2a2' : '#d80'}; background: #f8f8f8; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>Explanation-guided training against a decoy</h1>
<p>Each image shows one of three shapes (${m.data.classes.map(esc).join(', ')}) at a random position, size and colour on a noisy
background. In the training set a ${s.patch}x${s.patch} patch in the top-left corner is coloured by the class
(red, green, blue): a shortcut that predicts the label perfectly. The <em>consistent</em> test set keeps the shortcut;
in the <em>randomised</em> test set the patch colour is drawn independently of the shape, so only a model that looks at
the shape stays accurate (chance is 33.3%).</p>
<p>Both models have the same architecture, initial weights, data and number of epochs. The <em>plain</em> model is trained
on cross-entropy. The <em>guided</em> model is trained on cross-entropy + &lambda; &times; (share of its
<code>${esc(s.composite)}</code> relevance inside the decoy region), whose gradient w.r.t. the weights goes through
the LRP backward pass itself: the relevance is computed with <code>attribute(seed, {composite, createGraph: true})</code>, which
records the rules' computations, and the total loss is differentiated through them (<code>explanationGuidedStep</code> in
attribution/training.ts).</p>
<p class="verdict">${esc(m.verdict.summary)}</p>
${headlineChart(m)}
<h2>Results</h2>
<div class="tables"><table>
<tr><th>model</th><th>accuracy (consistent)</th><th>accuracy (randomised)</th><th>decoy share of positive relevance (consistent)</th><th>decoy share (randomised)</th><th>training time</th></tr>
${row('plain', m.plain)}
${row('guided', m.guided)}
</table></div>
<p>The decoy region (the patch and a ${s.maskMargin}-pixel border) covers ${pct(m.data.maskFraction)} of the image.
Relevance is that of the true class, summed over colour channels; the share is the positive relevance inside the
region divided by all positive relevance, averaged over the test images. The guided model was trained to keep its
relevance out of that region, so its low share there is partly by construction; the evidence that it stopped
<em>using</em> the decoy is its accuracy on the randomised set, which training never sees.</p>
<h2>Heatmaps</h2>
<p>Rows: test images (their class; where the patch's colour says another class, that too). Columns: the input, then
the relevance of the true class for the plain and the guided model, both with the composite <code>${esc(s.composite)}</code>,
summed over colour channels; each map is normalised on its own.</p>
<div class="colourbar"><span>negative relevance</span><span class="bar" role="img" aria-label="blue to white to red"></span><span>positive relevance</span><span>(white: none)</span></div>
${grids.map(labelledGrid).join('\n')}
<h2>Training</h2>
<h3>plain</h3>
<table><tr><th>epoch</th><th>loss</th><th>penalty</th><th>train accuracy</th><th>time</th></tr>
${epochs(m.plain)}
</table>
<h3>guided (&lambda; = ${s.lambda})</h3>
<table><tr><th>epoch</th><th>task loss</th><th>penalty</th><th>train accuracy</th><th>time</th></tr>
${epochs(m.guided)}
</table>
<h2>Timings</h2>
<table>
${Object.entries(m.timings)
  .map(([k, v]) => `<tr><th>${esc(TIMING_NAMES[k] ?? k)}</th><td>${typeof v === 'number' ? `${v.toFixed(2)} s` : esc(JSON.stringify(v))}</td></tr>`)
  .join('\n')}
</table>
<h2>Settings</h2>
<table>
${settings}
</table>
<h2>Try the CLI on these models</h2>
<pre><code>npx lrp-tape explain --model ${esc(m.files.modelSpec)} --weights ${esc(m.files.guidedWeights)} --input ${esc(m.files.sampleInput)} --composite ${esc(s.composite)} --out guided-heatmap.png
npx lrp-tape explain --model ${esc(m.files.modelSpec)} --weights ${esc(m.files.plainWeights)} --input ${esc(m.files.sampleInput)} --composite ${esc(s.composite)} --out plain-heatmap.png</code></pre>
<p><small>Generated by lrp-tape's demo on ${esc(m.generated)}; numbers also in <a href="metrics.json">metrics.json</a>.</small></p>
</body>
</html>
`;
  writeFileAtomic(join(out, 'index.html'), html);
}
