/**
 * AttnLRP on transformers, in a few lines each:
 *
 *   node --import tsx examples/transformer-relevance.ts [page.html]   (default: transformer-relevance.html)
 *
 * 1. A token transformer (causal, random weights, toy vocabulary): the relevance of each token for
 *    the predicted class, printed as a coloured sentence in the terminal (red: for, blue: against)
 *    and written as an HTML page. The weights are random: the colours show the mechanics, not a
 *    reading of the sentence (examples/vit-image-relevance.ts explains a trained model).
 * 2. A small timm-style ViT on a random image: relevance per patch, and the relevance ledger summed
 *    per block (where relevance is absorbed by biases and stabilisers).
 * Real models load the same way from a timm or torchvision state dict (`model.loadStateDict`).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Transformer, VisionTransformer } from '../models/index.js';
import { attnLrp } from '../composites/index.js';
import { recordForward, oneHotSeed } from '../attribution/index.js';
import { ledgerByBlock, relevanceLedger } from '../diagnostics/index.js';
import { writeBytesAtomic } from '../node/index.js';

/** Per-token relevance: the sum over the embedding dimension, normalised by the largest magnitude. */
export function tokenRelevance(r: Tensor): number[] {
  const [, T, D] = r.shape as [number, number, number];
  const out = Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += r.data[t * D + d]!;
    return s;
  });
  const m = Math.max(...out.map(Math.abs)) || 1;
  return out.map((v) => v / m);
}

export function colouredSentence(words: readonly string[], rel: readonly number[]): { terminal: string; html: string } {
  const terminal = words.map((w, i) => {
    const level = Math.round(Math.abs(rel[i]!) * 4);
    const colour = rel[i]! >= 0 ? [0, 52, 88, 160, 196][level] : [0, 153, 111, 69, 27][level];
    return level === 0 ? w : `\x1b[48;5;${colour}m${w}\x1b[0m`;
  });
  const html = words.map((w, i) => {
    const a = Math.abs(rel[i]!).toFixed(2);
    const rgb = rel[i]! >= 0 ? '220,40,40' : '40,80,220';
    return `<span style="background: rgba(${rgb},${a})">${w.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</span>`;
  });
  return { terminal: terminal.join(' '), html: `<p>${html.join(' ')}</p>` };
}

/** A whole page around the sentence: the words' relevance as background colours, and a table of the numbers. */
export function htmlPage(title: string, words: readonly string[], rel: readonly number[]): string {
  const { html } = colouredSentence(words, rel);
  const rows = words.map((w, i) => `<tr><td>${colouredSentence([w], [rel[i]!]).html.slice(3, -4)}</td><td>${rel[i]!.toFixed(3)}</td></tr>`).join('\n');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>' + title + '</title>',
    '<style>body{font:18px/1.6 system-ui,sans-serif;margin:2em}span{padding:0 .2em;border-radius:3px}td{padding:0 1em 0 0}</style></head><body>',
    `<h1>${title}</h1>`,
    html,
    '<p>Red: relevance for the class, blue: against it; normalised by the largest magnitude.</p>',
    `<table><tr><th>token</th><th>relevance</th></tr>\n${rows}</table>`,
    '</body></html>',
    '',
  ].join('\n');
}

export function run(opts: { htmlPath?: string } = {}): string[] {
  const lines: string[] = [];
  const rng = new E.Rng(0);
  const f64 = { dtype: 'float64' as const };
  const words = ['the', 'film', 'was', 'not', 'bad', 'at', 'all'];
  const D = 16;
  const vocab = new Map(words.map((w) => [w, E.randn([D], { ...f64, rng })]));
  const text = new Transformer({ embedDim: D, depth: 2, numHeads: 4, numClasses: 2, pool: 'last', causal: true, ...f64, rng }).eval();
  const x = E.reshape(E.stack(words.map((w) => vocab.get(w)!)), [1, words.length, D]);
  const rec = recordForward(text, x.requireGrad());
  const target = rec.output.data[1]! > rec.output.data[0]! ? 1 : 0;
  const { relevance } = rec.attribute(E.mul(rec.output.detach(), oneHotSeed(rec.output, [target])), { composite: attnLrp() });
  const perToken = tokenRelevance(relevance);
  const sentence = colouredSentence(words, perToken);
  lines.push(`token transformer, class ${target}: ${sentence.terminal}`, `as HTML: ${sentence.html}`);
  if (opts.htmlPath) {
    writeBytesAtomic(opts.htmlPath, new TextEncoder().encode(htmlPage(`AttnLRP relevance per token for class ${target} (random weights)`, words, perToken)));
  }

  const vit = new VisionTransformer({ imgSize: [16, 16], patchSize: 4, embedDim: 24, depth: 2, numHeads: 3, numClasses: 5, ...f64, rng }).eval();
  const img = E.rand([1, 3, 16, 16], { ...f64, rng });
  const vr = recordForward(vit, img.requireGrad());
  const seed = E.mul(vr.output.detach(), oneHotSeed(vr.output, [0]));
  const patches = E.sum(E.reshape(vr.attribute(seed, { composite: attnLrp() }).relevance, [3, 4, 4, 4, 4]), [0, 2, 4]);
  lines.push('ViT relevance per 4x4 patch:');
  for (let i = 0; i < 4; i++) lines.push('  ' + Array.from(patches.data.slice(i * 4, i * 4 + 4), (v) => v.toFixed(4).padStart(8)).join(' '));
  lines.push('relevance absorbed per block (bias + stabiliser):');
  for (const b of ledgerByBlock(relevanceLedger(vr, seed, attnLrp()), vr.recording)) lines.push(`  ${b.block.padEnd(12)} ${b.absorbed.toExponential(3)} (${b.layers} ops)`);
  if (opts.htmlPath) lines.push(`wrote ${opts.htmlPath}`);
  return lines;
}

if (process.argv[1]?.endsWith('transformer-relevance.ts')) for (const l of run({ htmlPath: process.argv[2] ?? 'transformer-relevance.html' })) console.log(l);
