/**
 * The `lrp-tape` CLI, run as a child process through cli/run-source.js (the executable's code, from source):
 * explain on a saved model equals the library call, and every kind of bad input gives one line
 * naming the problem and the exit status of its kind (usage 2, input data 3, I/O 4).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { readPng, readSafetensorsFile, writePng, writeSafetensorsFile, writeStateDictFile } from '../../node/index.js';
import { buildFromSpec } from '../../models/index.js';
import { rawToTensor, tensorToRaw, type Module } from '../../nn/index.js';
import { recordForward, oneHotSeed } from '../../attribution/index.js';
import { compositeFromSpec } from '../../composites/index.js';
import { createImage, heatmap, IMAGENET_MEAN, IMAGENET_STD, imageToTensorData } from '../../image/index.js';
import { run } from '../../cli/main.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'cli', 'run-source.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CI: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

/** Runs the argument lists at most `k` at a time (each child pays tsx's start-up). */
async function cliAll(list: readonly (readonly string[])[], k = 2): Promise<Run[]> {
  const out: Run[] = new Array(list.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (next < list.length) {
        const i = next++;
        out[i] = await cli(list[i]!);
      }
    }),
  );
  return out;
}

const spec = {
  type: 'Sequential',
  children: [
    ['0', { type: 'Conv2d', in_channels: 3, out_channels: 4, kernel_size: [3, 3], stride: 1, padding: 1 }],
    ['1', { type: 'ReLU' }],
    ['2', { type: 'MaxPool2d', kernel_size: 2, stride: 2 }],
    ['3', { type: 'Flatten', start_dim: 1 }],
    ['4', { type: 'Linear', in_features: 36, out_features: 3 }],
  ],
};

/** Exit statuses (docs/ERRORS.md): 2 usage/configuration, 3 bad input data, 4 I/O. */
const USAGE = 2;
const DATA = 3;
const IO = 4;

function expectBadInput(r: Run, pattern: RegExp, status: number): void {
  expect(r.code, `exit status; stderr: ${r.stderr}`).to.equal(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).not.to.match(/\n\s+at /);
}

describe('cli: lrp-tape', function () {
  this.timeout(90_000);
  let dir: string;
  let model: Module;
  let x: E.Tensor;
  const p = (f: string): string => join(dir, f);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-cli-'));
    model = buildFromSpec(spec, { rng: new E.Rng(3) }).eval();
    writeStateDictFile(p('w.safetensors'), model);
    writeFileSync(p('model.json'), JSON.stringify(spec));
    x = E.randn([1, 3, 6, 6], { rng: new E.Rng(4) });
    writeSafetensorsFile(p('x.safetensors'), new Map([['input', tensorToRaw(x)]]));
    // Weights with a wrong shape, a missing name and an extra name.
    const sd = model.stateDict();
    const badShape = new Map(sd);
    badShape.set('4.weight', E.zeros([3, 35]));
    writeStateDictFile(p('bad-shape.safetensors'), badShape);
    const missing = new Map(sd);
    missing.delete('4.bias');
    writeStateDictFile(p('missing.safetensors'), missing);
    const renamed = new Map([...sd].map(([k, v]) => [k === '0.weight' ? 'conv.weight' : k, v]));
    writeStateDictFile(p('renamed.safetensors'), renamed);
    const img = createImage(6, 6, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
    writePng(p('img.png'), img);
    writePng(p('big.png'), createImage(9, 7, 3, [10, 200, 30]));
    writeFileSync(p('garbage.safetensors'), 'this is not a safetensors file at all');
    writeFileSync(p('broken.json'), '{"type": "Sequential", ');
    writeFileSync(p('notes.jpg'), 'a text file with an image name');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const library = (input: E.Tensor, composite: string, args: Record<string, unknown>, target?: number): E.Tensor => {
    const rec = recordForward(model, input);
    const t = target ?? E.argmax(rec.output, 1).data[0]!;
    return rec.attribute(oneHotSeed(rec.output, [t]), { composite: compositeFromSpec({ name: composite, args }) }).relevance;
  };

  /** In-process run of the same entry point (for the many cases that need no process boundary). */
  async function runHere(args: readonly string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['node', 'lrp-tape', ...args], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
  }

  it('explain (child process) writes a heatmap and the relevance tensor of the library call', async () => {
    const [a, c, help, list] = await cliAll([
      ['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors'), '-o', p('a.png'), '-r', p('a.safetensors')],
      ['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('img.png'), '-c', 'epsilon_alpha2_beta1', '-r', p('c.safetensors'), '--ledger'],
      ['--help'],
      ['composites'],
    ]);
    for (const r of [a, c, help, list]) expect(r.code, r.stderr).to.equal(0);

    const relA = rawToTensor(readSafetensorsFile(p('a.safetensors')).tensors.get('relevance')!);
    const expA = library(x, 'epsilon_plus_flat', {});
    expect(relA.shape).to.deep.equal([1, 3, 6, 6]);
    expect(Array.from(relA.data)).to.deep.equal(Array.from(expA.data));
    const png = readPng(p('a.png'));
    const want = heatmap({ data: expA.data, shape: [3, 6, 6] });
    expect([png.width, png.height]).to.deep.equal([6, 6]);
    for (let i = 0; i < 36; i++) for (let ch = 0; ch < 3; ch++) expect(png.data[i * 4 + ch]).to.equal(want.data[i * 3 + ch]);
    expect(a.stdout).to.match(/wrote .*a\.png, .*a\.safetensors/);

    // A PNG input is scaled to [0, 1] and normalised with ImageNet's statistics by default.
    const xi = new E.Tensor(imageToTensorData(readPng(p('img.png')), { mean: IMAGENET_MEAN, std: IMAGENET_STD }), [1, 3, 6, 6]);
    const relC = rawToTensor(readSafetensorsFile(p('c.safetensors')).tensors.get('relevance')!);
    expect(Array.from(relC.data)).to.deep.equal(Array.from(library(xi, 'epsilon_alpha2_beta1', {}).data));
    expect(c.stdout).to.match(/relevance ledger: epsilon_alpha2_beta1/);

    expect(help.stdout).to.match(/Usage: lrp-tape/);
    for (const name of ['epsilon_plus_flat', 'excitation_backprop', 'ZPlus', 'AlphaBeta', 'resnet', 'sequential_merge_batchnorm']) {
      expect(list.stdout).to.match(new RegExp(`^  ${name} +\\S`, 'm'));
    }
  });

  it('explain with composite arguments and a target; --help on every command', async () => {
    const b = await runHere(['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors'), '-c', 'epsilon_gamma_box', '--arg', 'low=-3', '--arg', 'high=3', '--arg', 'gamma=0.5', '-t', '2', '-r', p('b.safetensors'), '-o', p('b.png'), '--cmap', 'coldnhot']);
    expect(b.code, b.stderr).to.equal(0);
    const relB = rawToTensor(readSafetensorsFile(p('b.safetensors')).tensors.get('relevance')!);
    expect(Array.from(relB.data)).to.deep.equal(Array.from(library(x, 'epsilon_gamma_box', { low: -3, high: 3, gamma: 0.5 }, 2).data));
    expect(b.stdout).to.match(/explained class 2/);
    const g = await runHere(['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors'), '-c', 'gradient', '-r', p('g.safetensors')]);
    expect(g.code, g.stderr).to.equal(0);
    const rec = recordForward(model, x);
    const plain = rec.attribute(oneHotSeed(rec.output, [E.argmax(rec.output, 1).data[0]!])).relevance;
    expect(Array.from(rawToTensor(readSafetensorsFile(p('g.safetensors')).tensors.get('relevance')!).data)).to.deep.equal(Array.from(plain.data));
    for (const cmd of ['explain', 'composites', 'conformance', 'demo']) {
      const h = await runHere([cmd, '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(new RegExp(`Usage: lrp-tape ${cmd}`));
    }
  });

  const base = (): string[] => ['explain', '-m', p('model.json'), '-w', p('w.safetensors')];

  it('bad input (child process): one line naming the problem, the exit status of its kind', async () => {
    const cases: [string[], RegExp, number][] = [
      [[...base(), '-i', p('x.safetensors'), '-c', 'nope'], /unknown composite 'nope'/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '-t', '3'], /target 3 is out of range: the model has 3 outputs/, USAGE],
      [[...base(), '-i', p('big.png')], /image '.*big\.png' \(9x7\) does not fit the model.*--size/, DATA],
      [[...base(), p('x.safetensors'), '-i', p('x.safetensors')], /give the input once/, USAGE],
      [[...base(), p('notes.jpg')], /input '.*notes\.jpg' is not an image: it starts with neither the PNG nor the JPEG signature/, DATA],
      [[...base(), p('x.safetensors'), '-t', 'cat'], /--target 'cat' is not a class index, and this model's 3 outputs have no class names/, USAGE],
      [[...base(), p('x.safetensors'), '--preprocess', 'cifar'], /unknown --preprocess 'cifar' \(known: imagenet\)/, USAGE],
      [['explain', '-m', p('model.json'), '-w', p('missing.safetensors'), '-i', p('x.safetensors')], /do not match the model.*missing 1 \(4\.bias\)/, DATA],
      [['explain', '-m', p('model.json'), '-w', p('bad-shape.safetensors'), '-i', p('x.safetensors')], /shape mismatch 1 \(4\.weight: expected \[3, 36\], got \[3, 35\]\)/, DATA],
      [['explain', '-m', p('model.json'), '-w', p('nothere.safetensors'), '-i', p('x.safetensors')], /cannot read weights file '.*nothere\.safetensors': no such file/, IO],
      [[...base(), '-i', p('garbage.safetensors')], /input '.*garbage\.safetensors' is neither an image \(PNG, JPEG\) nor a valid safetensors file/, DATA],
    ];
    const runs = await cliAll(cases.map(([a]) => a));
    runs.forEach((r, i) => expectBadInput(r, cases[i]![1], cases[i]![2]));
  });

  it('bad input (in process): every other kind, one line and the exit status of its kind', async () => {
    const cases: [string[], RegExp, number][] = [
      [[...base(), '-i', p('x.safetensors'), '-t', '-1'], /--target must be a non-negative integer/, USAGE],
      [[...base(), '-i', p('big.png'), '--size', '5x5'], /resized to 5x5\) does not fit the model/, DATA],
      [[...base(), '-i', p('big.png'), '--size', '0'], /--size must be N or HxW/, USAGE],
      [[...base(), '-i', p('big.png'), '--mean', '1,2'], /--mean must be 1 or 3 comma-separated numbers/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--size', '6'], /--size applies to image inputs only/, USAGE],
      [['explain', '-m', p('model.json'), '-w', p('renamed.safetensors'), '-i', p('x.safetensors')], /missing 1 \(0\.weight\); unexpected 1 \(conv\.weight\)/, DATA],
      [['explain', '-m', p('model.json'), '-w', p('garbage.safetensors'), '-i', p('x.safetensors')], /weights file '.*garbage\.safetensors' is not a valid safetensors file/, DATA],
      [['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '--weights-prefix', 'param/', '-i', p('x.safetensors')], /holds no tensor whose name starts with 'param\/'/, DATA],
      [[...base(), '-i', p('nothere.png')], /cannot read input '.*nothere\.png': no such file/, IO],
      [[...base(), '-i', dir], /\d+ inputs: give --out-dir DIR for their heatmaps and index page/, USAGE],
      [[...base(), '-i', p('w.safetensors')], /holds 4 tensors .*choose one with --input-key/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--input-key', 'nope'], /has no tensor 'nope'/, USAGE],
      [['explain', '-m', p('broken.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors')], /model spec '.*broken\.json' is not valid JSON/, DATA],
      [['explain', '-m', 'resnet9', '-w', p('w.safetensors'), '-i', p('x.safetensors')], /unknown model 'resnet9': not a builder \(resnet18/, USAGE],
      [['explain', '-m', 'resnet18', '-w', p('w.safetensors'), '-i', p('x.safetensors')], /weights '.*w\.safetensors' do not match the model 'resnet18': missing \d+ \(conv1\.weight/, DATA],
      [['explain', '-m', p('model.json'), '-i', p('x.safetensors')], /needs --weights/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--canonizer', 'nope'], /unknown canonizer 'nope'/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--arg', 'epsilon'], /--arg 'epsilon' must be key=value/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--arg', 'bogus=1'], /unknown argument\(s\) bogus/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '-c', 'epsilon_gamma_box'], /needs 'low' and 'high'/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--cmap', 'nope'], /colour map 'nope'/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--level', '-1'], /--level must be a positive number/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '-o', p('h.jpg')], /--out '.*h\.jpg' must name a \.png file/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '-o', join(dir, 'no', 'such', 'dir', 'h.png')], /cannot write --out '.*h\.png': folder '.*dir' does not exist/, IO],
      [[...base(), '-i', p('x.safetensors'), '-r', join(dir, 'nope', 'r.safetensors')], /cannot write --relevance/, IO],
      [[...base(), '-i', p('x.safetensors'), '--attributor', 'occlusion', '--window', '0'], /--window must be a positive integer/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--attributor', 'lime'], /argument 'lime' is invalid/, USAGE],
      [[...base(), '-i', p('x.safetensors'), '--bogus'], /unknown option '--bogus'/, USAGE],
      [['explain', '-m', p('model.json')], /explain needs an input: a file argument or --input FILE/, USAGE],
      [['demo', '--epochs', 'many'], /--epochs must be an integer >= 1, got 'many'/, USAGE],
      [['demo', '--composite', 'nope', '--out', join(dir, 'demo')], /unknown composite 'nope'/, USAGE],
      [['nonsense'], /unknown command 'nonsense'/, USAGE],
    ];
    for (const [args, pattern, status] of cases) expectBadInput(await runHere(args), pattern, status);
  });

  it('occlusion, integrated gradients and smoothgrad run through explain', async () => {
    for (const extra of [['--attributor', 'occlusion', '--window', '2'], ['--attributor', 'integrated_gradients', '--n-iter', '3'], ['--attributor', 'smoothgrad', '--n-iter', '3']]) {
      const r = await runHere([...base(), '-i', p('x.safetensors'), ...extra, '-o', p('att.png')]);
      expect(r.code, r.stderr).to.equal(0);
      expect(readPng(p('att.png')).width).to.equal(6);
    }
  });
});
