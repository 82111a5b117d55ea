/**
 * `lrp-tape explain`: one model, one input, one composite -> relevance tensor, heatmap, summary
 * (and the relevance ledger). Every user mistake becomes a CliError (or one of the library's
 * typed errors) with a message naming the problem; see cli/errors.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { parseSafetensors, SafetensorsError, type RawTensor } from '../engine/safetensors.js';
import { checkOutputPath, decodeImage, UnsafeOutputError, writePng, writeSafetensorsFile } from '../node/index.js';
import { loadSafetensorsStateDict, rawToTensor, StateDictError, tensorToRaw, type Module } from '../nn/index.js';
import * as M from '../models/index.js';
import { compositeFromSpec, compositeNames, type Composite } from '../composites/index.js';
import { canonize, canonizerFrom, defaultCanonizers } from '../canonizers/index.js';
import { integratedGradients, occlusion, oneHotSeed, recordForward, runForward, smoothGrad, type Forward, type Seed } from '../attribution/index.js';
import { getColorMap, grid, heatmap, IMAGENET_MEAN, IMAGENET_STD, imageToTensorData, preprocess, PREPROCESS_PRESETS, sniffImageFormat, type Image } from '../image/index.js';
import { conservationProblem, formatLedger, relevanceLedger, type ConservationProblem } from '../diagnostics/index.js';
import { CliError, describeStateDictError, someOf } from './errors.js';
import { ATTRIBUTORS, BUILDER_NAMES } from './names.js';
import { resolveTarget, topPredictions } from './predictions.js';
import type { ProgressFactory } from '../demo/run.js';

export interface ExplainOptions {
  model: string;
  weights?: string;
  weightsPrefix?: string;
  input: string;
  inputKey?: string;
  size?: string;
  preprocess?: string;
  mean?: string;
  std?: string;
  composite: string;
  arg: string[];
  /** Canonizer names; empty: the architecture's defaults; false (`--no-canonizer`): none. */
  canonizer: string[] | false;
  target?: string;
  timesOutput?: boolean;
  attributor: string;
  window?: string;
  stride?: string;
  nIter?: string;
  noiseLevel?: string;
  out?: string;
  relevance?: string;
  cmap: string;
  level: string;
  dtype: string;
  ledger?: boolean;
}

export interface ExplainContext {
  stdout: (line: string) => void;
  /** Warnings (one line each); default: none shown. */
  warn?: (line: string) => void;
  progress?: ProgressFactory;
}

const BUILDERS: Record<(typeof BUILDER_NAMES)[number], { make: (o: M.BuilderOptions) => Module; head: string }> = {
  resnet18: { make: M.resnet18, head: 'fc.weight' },
  resnet34: { make: M.resnet34, head: 'fc.weight' },
  resnet50: { make: M.resnet50, head: 'fc.weight' },
  resnet101: { make: M.resnet101, head: 'fc.weight' },
  resnet152: { make: M.resnet152, head: 'fc.weight' },
  vgg11: { make: M.vgg11, head: 'classifier.6.weight' },
  vgg11_bn: { make: M.vgg11_bn, head: 'classifier.6.weight' },
  vgg13: { make: M.vgg13, head: 'classifier.6.weight' },
  vgg13_bn: { make: M.vgg13_bn, head: 'classifier.6.weight' },
  vgg16: { make: M.vgg16, head: 'classifier.6.weight' },
  vgg16_bn: { make: M.vgg16_bn, head: 'classifier.6.weight' },
  vgg19: { make: M.vgg19, head: 'classifier.6.weight' },
  vgg19_bn: { make: M.vgg19_bn, head: 'classifier.6.weight' },
};
/** Composite names that mean "no composite: the plain gradient". */
const PLAIN = new Set(['gradient', 'none']);

// ---- option parsing ----------------------------------------------------------------------------

/** `key=value` -> [key, value] with numbers, booleans, null and JSON lists/objects parsed. */
export function parseArg(kv: string): [string, unknown] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new CliError(`--arg '${kv}' must be key=value (e.g. --arg epsilon=0.25)`);
  const key = kv.slice(0, i).trim();
  const raw = kv.slice(i + 1).trim();
  return [key, parseValue(raw, `--arg ${key}`)];
}

function parseValue(raw: string, what: string): unknown {
  if (raw !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  if (raw.startsWith('[') || raw.startsWith('{')) {
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new CliError(`${what}: '${raw}' is not valid JSON (${(e as Error).message})`);
    }
  }
  return raw;
}

function numberOpt(v: string | undefined, what: string, check: (n: number) => boolean = Number.isFinite, expect = 'a number'): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !check(n)) throw new CliError(`${what} must be ${expect}, got '${v}'`);
  return n;
}

const isPosInt = (n: number): boolean => Number.isInteger(n) && n > 0;

function numberList(v: string | undefined, what: string, fallback: readonly number[]): number[] {
  if (v === undefined) return [...fallback];
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (!(nums.length === 1 || nums.length === 3) || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) {
    throw new CliError(`${what} must be 1 or 3 comma-separated numbers, got '${v}'`);
  }
  return nums;
}

/** `224`, `224x320` or `224,320` -> [h, w]. */
export function parseSize(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:[x,]\s*(\d+))?\s*$/.exec(v);
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!isPosInt(h) || !isPosInt(w)) throw new CliError(`--size must be N or HxW with positive integers, got '${v}'`);
  return [h, w];
}

function readBytes(path: string, what: string): Buffer {
  try {
    if (statSync(path).isDirectory()) throw new CliError(`cannot read ${what} '${path}': it is a directory`, 'io');
    return readFileSync(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot read ${what} '${path}': ${why}`, 'io');
  }
}

// ---- model -------------------------------------------------------------------------------------

export interface LoadedModel {
  model: Module;
  description: string;
  /** The builders are torchvision's ImageNet architectures: their labels, when the head has 1000 outputs. */
  classNames?: readonly string[];
}

export function loadModel(o: Pick<ExplainOptions, 'model' | 'weights' | 'weightsPrefix' | 'dtype'>): LoadedModel {
  const dtype = o.dtype as 'float32' | 'float64';
  const builder = (BUILDER_NAMES as readonly string[]).includes(o.model) ? BUILDERS[o.model as (typeof BUILDER_NAMES)[number]] : undefined;
  let weights: Map<string, Tensor> | null = null;
  const readWeights = (): Map<string, Tensor> => {
    if (!o.weights) throw new CliError(`model '${o.model}' needs --weights FILE.safetensors`);
    const bytes = readBytes(o.weights, 'weights file');
    let w: Map<string, Tensor>;
    try {
      // The bytes are ours alone: the tensors may view them, and the model adopts the tensors (weights in memory once).
      w = loadSafetensorsStateDict(bytes, { prefix: o.weightsPrefix ?? '', source: o.weights, shareBytes: true });
    } catch (e) {
      if (e instanceof SafetensorsError) throw new CliError(`weights file '${o.weights}' is not a valid safetensors file: ${e.message.slice(e.source.length + 2)}`, 'data');
      throw e;
    }
    if (w.size === 0) throw new CliError(`weights file '${o.weights}' holds no tensor${o.weightsPrefix ? ` whose name starts with '${o.weightsPrefix}'` : ''}`, 'data');
    return w;
  };
  let model: Module;
  let description: string;
  if (builder) {
    weights = readWeights();
    // The class count comes from the weights, so fine-tuned heads load too.
    const head = weights.get(builder.head);
    const numClasses = head && head.ndim === 2 ? head.shape[0] : undefined;
    // The strict load below replaces every parameter and buffer: random initial weights would only be garbage.
    model = builder.make({ dtype, init: 'empty', ...(numClasses ? { numClasses } : {}) });
    description = o.model;
  } else {
    if (!existsSync(o.model)) {
      throw new CliError(`unknown model '${o.model}': not a builder (${BUILDER_NAMES.join(', ')}) and no such model-spec file`);
    }
    const text = readBytes(o.model, 'model spec').toString('utf8');
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch (e) {
      throw new CliError(`model spec '${o.model}' is not valid JSON: ${(e as Error).message}`, 'data');
    }
    // A reference case's JSON carries the model under "model".
    if (spec && typeof spec === 'object' && !('type' in spec) && 'model' in spec) spec = (spec as { model: unknown }).model;
    model = M.buildFromSpec(spec, { dtype });
    weights = readWeights();
    description = basename(o.model);
  }
  try {
    model.loadStateDict(weights, { assign: true });
  } catch (e) {
    if (e instanceof StateDictError) throw new CliError(`weights '${o.weights}' do not match the model '${description}': ${describeStateDictError(e)}${mismatchHint(model, weights, o.model)}`, 'data');
    throw e;
  }
  model.eval();
  const n = model.parameters().reduce((a, p) => a + p.size, 0);
  return { model, description: `${description} (${n.toLocaleString('en-US')} parameters, ${dtype})`, ...(builder ? { classNames: M.IMAGENET_CLASSES } : {}) };
}

/** The model's first tensor (in its own order) the weights lack or shape differently, and the architecture the weights look like. */
function mismatchHint(model: Module, weights: Map<string, Tensor>, modelName: string): string {
  let first = '';
  for (const [name, t] of model.stateDict()) {
    const w = weights.get(name);
    if (!w) first = `'${name}' (model [${t.shape.join(', ')}], weights: none)`;
    else if (w.shape.length !== t.shape.length || w.shape.some((d, i) => d !== t.shape[i])) first = `'${name}' (model [${t.shape.join(', ')}], weights [${w.shape.join(', ')}])`;
    if (first) break;
  }
  const guess = M.guessArchitecture(new Map([...weights].map(([k, v]) => [k, v.shape])));
  const looks = guess && guess !== modelName ? `; the weights look like ${guess}${(BUILDER_NAMES as readonly string[]).includes(guess) ? ` (--model ${guess})` : ''}` : '';
  return `${first ? `; first mismatching tensor ${first}` : ''}${looks}`;
}

// ---- input -------------------------------------------------------------------------------------

export interface LoadedInput {
  x: Tensor;
  description: string;
  /** Set for image inputs: what `--size` / `--preprocess` and normalisation made of the image. */
  image?: { width: number; height: number; resized: boolean };
  mean?: number[];
  std?: number[];
}

export function loadInput(o: Pick<ExplainOptions, 'input' | 'inputKey' | 'size' | 'preprocess' | 'mean' | 'std' | 'dtype'>): LoadedInput {
  const bytes = readBytes(o.input, 'input');
  const format = sniffImageFormat(bytes);
  let x: Tensor;
  let out: LoadedInput;
  if (o.preprocess !== undefined && !Object.hasOwn(PREPROCESS_PRESETS, o.preprocess)) {
    throw new CliError(`unknown --preprocess '${o.preprocess}' (known: ${Object.keys(PREPROCESS_PRESETS).join(', ')})`);
  }
  if (o.preprocess !== undefined && o.size !== undefined) throw new CliError(`--size and --preprocess both set the input size; give one`);
  if (format) {
    const img = decodeImage(bytes, `input '${o.input}'`);
    const mean = numberList(o.mean, '--mean', IMAGENET_MEAN);
    const std = numberList(o.std, '--std', IMAGENET_STD);
    const kind = format === 'png' ? 'PNG' : 'JPEG';
    if (o.preprocess !== undefined) {
      const preset = PREPROCESS_PRESETS[o.preprocess]!;
      const three = (v: number[]): [number, number, number] => (v.length === 1 ? [v[0]!, v[0]!, v[0]!] : [v[0]!, v[1]!, v[2]!]);
      const p = preprocess(img, { ...preset, mean: o.mean ? three(mean) : preset.mean, std: o.std ? three(std) : preset.std });
      x = new E.Tensor(p.data, [1, 3, p.image.height, p.image.width]);
      out = {
        x,
        description: `${basename(o.input)} (${img.width}x${img.height} ${kind}, --preprocess ${o.preprocess}: shorter side ${preset.resize}, center crop ${p.image.width}x${p.image.height})`,
        image: { width: img.width, height: img.height, resized: true },
        mean,
        std,
      };
    } else {
      const size = parseSize(o.size);
      const [h, w] = size ?? [img.height, img.width];
      const data = imageToTensorData(img, { size: [h, w], mean, std });
      x = new E.Tensor(data, [1, 3, h, w]);
      const resized = h !== img.height || w !== img.width;
      out = {
        x,
        description: `${basename(o.input)} (${img.width}x${img.height} ${kind}${resized ? `, resized to ${w}x${h}` : ''})`,
        image: { width: img.width, height: img.height, resized },
        mean,
        std,
      };
    }
  } else {
    if (/\.(png|jpe?g)$/i.test(o.input)) throw new CliError(`input '${o.input}' is not an image: it starts with neither the PNG nor the JPEG signature`, 'data');
    const imageOnly = (['size', 'preprocess', 'mean', 'std'] as const).filter((k) => o[k] !== undefined);
    if (imageOnly.length) throw new CliError(`${imageOnly.map((k) => `--${k}`).join(', ')} appl${imageOnly.length > 1 ? 'y' : 'ies'} to image inputs only; '${o.input}' is a tensor file`);
    let file: ReturnType<typeof parseSafetensors>;
    try {
      file = parseSafetensors(bytes, o.input);
    } catch (e) {
      if (e instanceof SafetensorsError) throw new CliError(`input '${o.input}' is neither an image (PNG, JPEG) nor a valid safetensors file: ${e.message.slice(e.source.length + 2)}`, 'data');
      throw e;
    }
    const names = [...file.tensors.keys()];
    let key = o.inputKey;
    if (key === undefined) key = file.tensors.has('input') ? 'input' : names.length === 1 ? names[0] : undefined;
    if (key === undefined) {
      throw new CliError(`input '${o.input}' holds ${names.length} tensors (${someOf(names)}): choose one with --input-key`);
    }
    const raw: RawTensor | undefined = file.tensors.get(key);
    if (!raw) throw new CliError(`input '${o.input}' has no tensor '${key}' (it has ${someOf(names)})`);
    let t = rawToTensor(raw, key);
    if (t.dtype === 'int32') throw new CliError(`input tensor '${key}' is an integer tensor; a float tensor is needed`, 'data');
    // [F] and [C, H, W] are single samples; [N, F] and [N, C, H, W] are batches.
    if (t.ndim === 1 || t.ndim === 3) t = E.unsqueeze(t, 0);
    if (t.ndim < 2 || t.ndim > 4) throw new CliError(`input tensor '${key}' has shape [${t.shape.join(', ')}]; expected [C, H, W], [N, C, H, W], [F] or [N, F]`, 'data');
    x = t;
    out = { x, description: `${basename(o.input)}:${key} [${t.shape.join(', ')}]` };
  }
  if (out.x.dtype !== o.dtype) out.x = E.cast(out.x, o.dtype as 'float32' | 'float64');
  return out;
}

// ---- explain -----------------------------------------------------------------------------------

/** |sum(relevance) - sum(seed)| <= share * |sum(seed)|. */
function conservedWithin(seed: Tensor, relevance: Tensor, share: number): boolean {
  let s = 0;
  let r = 0;
  for (let i = 0; i < seed.size; i++) s += seed.data[i]!;
  for (let i = 0; i < relevance.size; i++) r += relevance.data[i]!;
  return Math.abs(r - s) <= share * Math.abs(s);
}

function conservationWarning(p: ConservationProblem, missing: string[]): string {
  const worst = p.layers[0];
  const where = worst
    ? `; ${p.layers.length} layer${p.layers.length > 1 ? 's' : ''} without an LRP rule ${worst.amount < 0 ? 'create' : 'lose'} it, the most at '${worst.key}' (${worst.type}, ${worst.rule}: ${worst.amount < 0 ? 'created' : 'lost'} ${fmt(Math.abs(worst.amount))})`
    : '; outside any recorded layer';
  const hint = missing.length ? `; try --canonizer ${missing.join(' --canonizer ')}` : '';
  return `warning: relevance is not conserved beyond what the rules explain: it sums to ${fmt(p.input)} at the input for ${fmt(p.seed)} at the output${where}${hint}`;
}

export interface ExplainResult {
  output: Tensor;
  relevance: Tensor;
  targets: number[];
  composite: Composite | null;
  /** The output's class names, when the model has them. */
  classNames?: readonly string[];
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

/** Already loaded parts (batches load the model once and stack several images). */
export interface Preloaded {
  model?: LoadedModel;
  input?: LoadedInput;
}

export function explainCommand(o: ExplainOptions, ctx: ExplainContext, pre: Preloaded = {}): ExplainResult {
  // Cheap checks first, so a typo fails before a large model is built.
  if (!['float32', 'float64'].includes(o.dtype)) throw new CliError(`--dtype must be float32 or float64, got '${o.dtype}'`);
  if (!(ATTRIBUTORS as readonly string[]).includes(o.attributor)) throw new CliError(`unknown attributor '${o.attributor}' (known: ${ATTRIBUTORS.join(', ')})`);
  const level = numberOpt(o.level, '--level', (n) => Number.isFinite(n) && n > 0, 'a positive number')!;
  getColorMap(o.cmap);
  if (o.target !== undefined && o.target.trim() === '') throw new CliError(`--target must be a class index or name, got ''`);
  const args = Object.fromEntries(o.arg.map(parseArg));
  const plain = PLAIN.has(o.composite);
  if (plain && o.arg.length) throw new CliError(`--arg is for composites; '${o.composite}' takes none`);
  if (!plain && !compositeNames.includes(o.composite)) {
    throw new CliError(`unknown composite '${o.composite}' (known: ${[...compositeNames, 'gradient'].join(', ')})`);
  }
  // A known architecture gets the canonizers LRP needs on it unless the user chose (or refused) some.
  const defaulted = o.canonizer !== false && o.canonizer.length === 0 && !plain;
  const canonizerNames = o.canonizer === false ? [] : o.canonizer.length ? o.canonizer : plain ? [] : defaultCanonizers(o.model);
  const composite: Composite | null = plain ? null : compositeFromSpec({ name: o.composite, args });
  const canonizers = canonizerNames.map((n) => canonizerFrom(n));
  if (o.out && !/\.png$/i.test(o.out)) throw new CliError(`--out '${o.out}' must name a .png file`);
  // Output paths are checked (node/output-path.ts) before the (possibly long) work starts, and again at the write.
  const inputs = [o.input, o.weights, existsSync(o.model) ? o.model : undefined];
  for (const [flag, path] of [['--out', o.out], ['--relevance', o.relevance]] as const) {
    if (path === undefined) continue;
    if (path === '') throw new CliError(`${flag} needs a file name, got ''`);
    try {
      checkOutputPath(path, { inputs, requireFolder: true });
    } catch (e) {
      if (e instanceof UnsafeOutputError) throw new CliError(`cannot write ${flag} '${path}': ${e.reason}`, 'io');
      throw e;
    }
  }
  if (o.out !== undefined && o.relevance !== undefined && resolve(o.out) === resolve(o.relevance)) throw new CliError(`--out and --relevance name the same file '${o.out}'`);

  const loaded = pre.model ?? loadModel(o);
  const { model, description: modelDesc } = loaded;
  const input = pre.input ?? loadInput(o);
  const view: Forward = canonizers.length ? canonize(model, canonizers) : model;
  const x = input.x;

  // The forward: a wrong input size shows up here.
  let output: Tensor;
  try {
    output = E.noGrad(() => runForward(view, x));
  } catch (e) {
    if (!(e instanceof E.ShapeError)) throw e;
    const hint = input.image ? `; resize it with --preprocess imagenet or --size HxW` : '';
    const what = input.image ? `image '${o.input}' (${input.image.width}x${input.image.height}${input.image.resized ? `, resized to ${x.shape[3]}x${x.shape[2]}` : ''})` : `input of shape [${x.shape.join(', ')}]`;
    throw new CliError(`the ${what} does not fit the model: ${e.message.split('\n')[0]}${hint}`, 'data');
  }
  if (output.ndim !== 2) throw new CliError(`the model's output has shape [${output.shape.join(', ')}]; explain needs [N, classes]`, 'data');
  const N = output.shape[0]!;
  const K = output.shape[1]!;
  const classNames = loaded.classNames && loaded.classNames.length === K ? loaded.classNames : undefined;
  const targetArg = o.target !== undefined ? resolveTarget(o.target, K, classNames) : undefined;
  const top = Array.from(E.argmax(output, 1).data);
  const targets = targetArg !== undefined ? new Array<number>(N).fill(targetArg) : top;
  const seed: Seed = o.timesOutput ? (out: Tensor) => E.mul(out, oneHotSeed(out, targets)) : (out: Tensor) => oneHotSeed(out, targets);

  let relevance: Tensor;
  let ledgerText: string | null = null;
  if (o.attributor === 'gradient') {
    const rec = recordForward(view, x);
    const bar = ctx.progress?.('backward', rec.recording.layers.length);
    try {
      relevance = rec.attribute(seed, { composite, onProgress: bar ? (done, _total, layer) => bar.update(done, { layer: layer?.name || (layer ? layer.type : 'done') }) : undefined }).relevance;
    } finally {
      bar?.stop();
    }
    let ledger = o.ledger ? relevanceLedger(rec, seed, composite) : null;
    if (ledger) ledgerText = formatLedger(ledger);
    // A plain gradient is not meant to conserve; an LRP composite is, up to its biases and stabilizers.
    // The ledger costs another backward, so it is only built when the totals are off.
    if (composite && ctx.warn && !conservedWithin(seed(output), relevance, 0.1)) {
      ledger ??= relevanceLedger(rec, seed, composite);
      const problem = conservationProblem(ledger, 0.1);
      if (problem) ctx.warn(conservationWarning(problem, defaultCanonizers(o.model).filter((c) => !canonizerNames.includes(c))));
    }
  } else {
    if (o.ledger) throw new CliError('--ledger needs --attributor gradient (the ledger follows one backward pass)');
    if (o.attributor === 'occlusion') {
      const window = numberOpt(o.window, '--window', isPosInt, 'a positive integer') ?? 8;
      const stride = numberOpt(o.stride, '--stride', isPosInt, 'a positive integer') ?? window;
      const bar = ctx.progress?.('occlusion', 100);
      try {
        relevance = occlusion(view, x, {
          window: x.ndim === 4 ? [window, window] : window,
          stride: x.ndim === 4 ? [stride, stride] : stride,
          seed,
          mode: 'clip',
          onProgress: (done, total) => bar?.update((100 * done) / total, { windows: `${done}/${total}` }),
        }).relevance;
      } finally {
        bar?.stop();
      }
    } else {
      const nIter = numberOpt(o.nIter, '--n-iter', isPosInt, 'a positive integer') ?? 20;
      if (o.attributor === 'integrated_gradients') relevance = integratedGradients(view, x, { composite, seed, nIter }).relevance;
      else {
        const noiseLevel = numberOpt(o.noiseLevel, '--noise-level', (n) => Number.isFinite(n) && n >= 0, 'a non-negative number') ?? 0.1;
        relevance = smoothGrad(view, x, { composite, seed, nIter, noiseLevel }).relevance;
      }
    }
  }

  // ---- outputs ---------------------------------------------------------------------------------
  const written: string[] = [];
  if (o.out) {
    if (relevance.ndim !== 4) throw new CliError(`--out needs an image-shaped input [N, C, H, W]; this input is [${x.shape.join(', ')}]`);
    const [, C, H, W] = relevance.shape as [number, number, number, number];
    const per = C * H * W;
    const imgs: Image[] = [];
    for (let i = 0; i < N; i++) {
      imgs.push(heatmap({ data: relevance.data.subarray(i * per, (i + 1) * per), shape: [C, H, W] }, { cmap: o.cmap, level }));
    }
    writePng(o.out, imgs.length === 1 ? imgs[0]! : grid(imgs, { padding: 2 }), { inputs });
    written.push(o.out);
  }
  if (o.relevance) {
    writeSafetensorsFile(o.relevance, new Map([['relevance', tensorToRaw(relevance.detach())], ['output', tensorToRaw(output)]]), {
      model: o.model,
      input: o.input,
      composite: composite ? o.composite : 'gradient',
      composite_args: JSON.stringify(args),
      canonizers: JSON.stringify(canonizerNames),
      attributor: o.attributor,
      target: JSON.stringify(targets),
      attr_output: o.timesOutput ? 'output_times_onehot' : 'onehot',
    }, { inputs });
    written.push(o.relevance);
  }

  // ---- summary ---------------------------------------------------------------------------------
  ctx.stdout(`model: ${modelDesc}`);
  ctx.stdout(`input: ${input.description}`);
  const how = o.attributor === 'occlusion' ? `occlusion (a composite has no effect on it)` : `${o.attributor === 'gradient' ? '' : `${o.attributor}, `}${composite ? `composite ${o.composite}${Object.keys(args).length ? ` ${JSON.stringify(args)}` : ''}` : 'plain gradient'}${canonizerNames.length ? `, canonizers ${canonizerNames.join(', ')}${defaulted ? ` (the default for ${o.model}; --no-canonizer to turn off)` : ''}` : ''}`;
  const per = relevance.size / N;
  for (let i = 0; i < N; i++) {
    if (K > 1) {
      ctx.stdout(`${N > 1 ? `[${i}] ` : ''}top-${Math.min(5, K)} predictions:`);
      for (const line of topPredictions(output.data.subarray(i * K, (i + 1) * K), classNames)) ctx.stdout(line);
    }
    let sum = 0;
    let pos = 0;
    for (let j = 0; j < per; j++) {
      const v = relevance.data[i * per + j]!;
      sum += v;
      if (v > 0) pos += v;
    }
    const item = N > 1 ? `[${i}] ` : '';
    ctx.stdout(
      `${item}top class ${top[i]}${classNames ? ` '${classNames[top[i]!]}'` : ''} (${fmt(output.data[i * K + top[i]!]!)}); explained class ${targets[i]}${classNames ? ` '${classNames[targets[i]!]}'` : ''} (${fmt(output.data[i * K + targets[i]!]!)}) with ${how}: relevance sum ${fmt(sum)}, positive ${fmt(pos)}, negative ${fmt(sum - pos)}`,
    );
  }
  if (ledgerText !== null) ctx.stdout(ledgerText);
  if (written.length) ctx.stdout(`wrote ${written.join(', ')}`);
  return { output, relevance, targets, composite, ...(classNames ? { classNames } : {}) };
}
