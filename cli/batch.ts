/**
 * `explain` on many images: folders and glob patterns expand to image files, which are stacked in
 * batches of `--batch-size` (they must preprocess to one size), explained together, and written as
 * one heatmap per image plus an index page.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import * as E from '../engine/index.js';
import { encodePng, heatmap } from '../image/index.js';
import { writeBytesAtomic } from '../node/index.js';
import { CliError } from './errors.js';
import { explainCommand, loadInput, loadModel, type ExplainContext, type ExplainOptions } from './explain.js';

const IMAGE_EXT = /\.(png|jpe?g)$/i;

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/** Folders -> their image files (sorted); a '*' or '?' in the last path part -> the matching files; files as given. */
export function expandInputs(args: readonly string[]): { files: string[]; many: boolean } {
  const files: string[] = [];
  let many = args.length > 1;
  for (const a of args) {
    if (existsSync(a) && statSync(a).isDirectory()) {
      const found = readdirSync(a).filter((f) => IMAGE_EXT.test(f)).sort().map((f) => join(a, f));
      if (!found.length) throw new CliError(`folder '${a}' holds no PNG or JPEG file`, 'io');
      files.push(...found);
      many = true;
    } else if (/[*?]/.test(basename(a))) {
      const dir = dirname(a);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`pattern '${a}': folder '${dir}' does not exist`, 'io');
      const re = globToRegExp(basename(a));
      const found = readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
      if (!found.length) throw new CliError(`pattern '${a}' matches no file`, 'io');
      files.push(...found);
      many = true;
    } else {
      files.push(a);
    }
  }
  return { files, many };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function explainBatch(files: readonly string[], o: ExplainOptions, ctx: ExplainContext, opts: { batchSize: number; outDir: string }): void {
  if (o.out || o.relevance) throw new CliError('with several inputs, write the heatmaps with --out-dir DIR (--out and --relevance take one input)');
  mkdirSync(opts.outDir, { recursive: true });
  const model = loadModel(o);
  const rows: string[] = [];
  const used = new Set<string>();
  for (let start = 0; start < files.length; start += opts.batchSize) {
    const chunk = files.slice(start, start + opts.batchSize);
    const inputs = chunk.map((f) => loadInput({ ...o, input: f }));
    const shapes = new Set(inputs.map((i) => i.x.shape.join('x')));
    if (shapes.size > 1) {
      throw new CliError(`a batch needs one input size, got ${[...shapes].join(', ')} (${chunk.join(', ')}): use --preprocess imagenet or --size HxW`, 'data');
    }
    ctx.stdout(`batch ${start / opts.batchSize + 1}: ${chunk.map((f, i) => `[${i}] ${basename(f)}`).join(', ')}`);
    const x = E.concat(inputs.map((i) => i.x), 0);
    const input = { ...inputs[0]!, x, description: `${chunk.length} image${chunk.length > 1 ? 's' : ''}` };
    const res = explainCommand({ ...o, input: chunk[0]! }, ctx, { model, input });
    if (res.relevance.ndim !== 4) throw new CliError('heatmaps need image inputs [N, C, H, W]', 'data');
    const [, C, H, W] = res.relevance.shape as [number, number, number, number];
    const per = C * H * W;
    const K = res.output.shape[1]!;
    for (let i = 0; i < chunk.length; i++) {
      let name = `${basename(chunk[i]!, extname(chunk[i]!))}.png`;
      for (let k = 1; used.has(name); k++) name = `${basename(chunk[i]!, extname(chunk[i]!))}-${k}.png`;
      used.add(name);
      const rel = res.relevance.data.subarray(i * per, (i + 1) * per);
      writeBytesAtomic(join(opts.outDir, name), encodePng(heatmap({ data: rel, shape: [C, H, W] }, { cmap: o.cmap, level: Number(o.level) })));
      let sum = 0;
      for (const v of rel) sum += v;
      const t = res.targets[i]!;
      const label = res.classNames?.[t];
      rows.push(`<tr><td>${esc(basename(chunk[i]!))}</td><td>${t}${label ? ` ${esc(label)}` : ''}</td><td>${res.output.data[i * K + t]!.toFixed(3)}</td><td>${sum.toFixed(3)}</td><td><img src="${esc(encodeURI(name))}" alt="relevance of ${esc(basename(chunk[i]!))}" width="${Math.min(W, 224)}"></td></tr>`);
    }
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lrp-tape explain: ${files.length} images</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:middle}img{max-width:100%;height:auto;image-rendering:pixelated}</style></head>
<body><h1>Relevance of ${files.length} images</h1>
<p>Model ${esc(o.model)}, composite ${esc(o.composite)}, colour map ${esc(o.cmap)}${o.cmap === 'bwr' ? ' (red: positive relevance, blue: negative, white: none)' : ''}; each heatmap is normalised on its own.</p>
<table><thead><tr><th>image</th><th>explained class</th><th>logit</th><th>relevance sum</th><th>heatmap</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
  writeBytesAtomic(join(opts.outDir, 'index.html'), new TextEncoder().encode(html));
  ctx.stdout(`wrote ${files.length} heatmaps and ${join(opts.outDir, 'index.html')}`);
}
