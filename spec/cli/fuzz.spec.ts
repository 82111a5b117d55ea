/**
 * Fuzz (fast-check) over the CLI's arguments and over composite arguments, where arbitrary user text
 * comes in: no input ever gives an untyped error, a stack trace without --debug, exit 0 with a NaN
 * in the output, or a file written anywhere but the output paths.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import * as E from '../../engine/index.js';
import { LrpTapeError } from '../../engine/errors.js';
import { compositeFromSpec, compositeNames } from '../../composites/index.js';
import { oneHotSeed, recordForward } from '../../attribution/index.js';
import { buildFromSpec } from '../../models/index.js';
import { readSafetensorsFile, writePng, writeSafetensorsFile, writeStateDictFile } from '../../node/index.js';
import { createImage } from '../../image/index.js';
import { rawToTensor, tensorToRaw } from '../../nn/index.js';
import { run } from '../../cli/main.js';

const CLI_RUNS = 1000;
const COMPOSITE_RUNS = 1000;

const spec = {
  type: 'Sequential',
  children: [
    ['0', { type: 'Conv2d', in_channels: 3, out_channels: 2, kernel_size: 3, padding: 1 }],
    ['1', { type: 'ReLU' }],
    ['2', { type: 'Flatten', start_dim: 1 }],
    ['3', { type: 'Linear', in_features: 32, out_features: 3 }],
  ],
};

const weird = fc.constantFrom('', ' ', 'NaN', 'nan', 'Infinity', '-Infinity', '-1', '0', '1e309', '[0.25]', '{"epsilon":1}', '"x"', 'null', 'true', '__proto__', 'constructor', 'toString', '\u001b[2J', 'a\nb', '1,2', '3x3', 'x'.repeat(300));
const anyValue = fc.oneof(weird, fc.string({ maxLength: 8 }), fc.double().map(String), fc.integer({ min: -5, max: 50 }).map(String));
const jsonValue = fc.oneof(
  fc.double(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, null, true, 'x', '', [], [0.25], {}, { epsilon: 0.1 }, { eps: 1 }, ['bias'], 'bias', ['weight', 3]),
  fc.string({ maxLength: 6 }),
);
const argKeys = fc.constantFrom('epsilon', 'stabilizer', 'zero_params', 'gamma', 'low', 'high', 'beta', 'beta_smooth', 'alpha', 'bogus', '__proto__', 'constructor', 'toString');

describe('fuzz: CLI and composite arguments', function () {
  this.timeout(300_000);
  let dir: string;
  const p = (f: string): string => join(dir, f);
  const digest = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
  let inputDigests: Map<string, string>;
  let inputBytes: Map<string, Buffer>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-fuzz-'));
    const model = buildFromSpec(spec, { rng: new E.Rng(5) }).eval();
    writeStateDictFile(p('w.safetensors'), model);
    writeFileSync(p('model.json'), JSON.stringify(spec));
    writeSafetensorsFile(p('x.safetensors'), new Map([['input', tensorToRaw(E.randn([1, 3, 4, 4], { rng: new E.Rng(6) }))]]));
    const img = createImage(4, 4, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 53) % 256;
    writePng(p('img.png'), img);
    inputDigests = new Map(['w.safetensors', 'model.json', 'x.safetensors', 'img.png'].map((f) => [f, digest(p(f))]));
    inputBytes = new Map([...inputDigests.keys()].map((f) => [f, readFileSync(p(f))]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`composite arguments (${COMPOSITE_RUNS} cases): a typed error, or a composite whose explanation is finite`, () => {
    const model = buildFromSpec(spec, { rng: new E.Rng(5), dtype: 'float64' }).eval();
    const x = E.randn([1, 3, 4, 4], { rng: new E.Rng(6), dtype: 'float64' });
    const rec = recordForward(model, x);
    fc.assert(
      fc.property(fc.constantFrom(...compositeNames, 'nope', 'constructor'), fc.dictionary(argKeys, jsonValue, { maxKeys: 3 }), (name, args) => {
        let composite;
        try {
          composite = compositeFromSpec({ name, args });
        } catch (e) {
          expect(e, String(e)).to.be.instanceOf(LrpTapeError);
          return;
        }
        const r = rec.attribute(oneHotSeed(rec.output, [0]), { composite }).relevance;
        expect(r.toArray().every(Number.isFinite), `${name} ${JSON.stringify(args)}`).to.equal(true);
      }),
      { numRuns: COMPOSITE_RUNS, seed: 15 },
    );
  });

  it(`CLI explain arguments (${CLI_RUNS} cases): exit 0/2/3/4 only, one line without a stack, no NaN with exit 0, nothing written but -o/-r`, async () => {
    const option = fc.oneof(
      fc.tuple(fc.constantFrom('-c', '--composite'), fc.oneof(fc.constantFrom(...compositeNames, 'gradient'), anyValue)),
      fc.tuple(fc.constant('--arg'), fc.tuple(argKeys, fc.oneof(anyValue, jsonValue.map((v) => JSON.stringify(v) ?? 'x'))).map(([k, v]) => `${k}=${v}`)),
      fc.tuple(fc.constantFrom('-t', '--size', '--mean', '--std', '--level', '--window', '--stride', '--n-iter', '--noise-level', '--cmap', '--input-key', '--weights-prefix', '--canonizer'), anyValue),
      fc.tuple(fc.constant('--attributor'), fc.constantFrom('gradient', 'occlusion', 'smoothgrad', 'integrated_gradients', 'lime', '')),
      fc.tuple(fc.constant('--dtype'), fc.constantFrom('float32', 'float64', 'int32', '')),
      fc.tuple(fc.constantFrom('-o', '-r'), fc.constantFrom('out.png', 'out.safetensors', '', 'w.safetensors', 'x.safetensors', 'img.png', 'model.json', '/dev/null', 'nodir/out.png', '.', 'out.jpg').map((f) => (f === '' || f.startsWith('/') ? f : p(f)))),
    );
    const inputs = fc.constantFrom(p('x.safetensors'), p('img.png'), p('w.safetensors'), p('model.json'), p('missing.png'));
    let runs = 0;
    let ok = 0;
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(inputs, fc.array(option, { maxLength: 5 }), fc.boolean(), async (input, opts, withTimes) => {
        runs++;
        for (const f of readdirSync(dir)) if (f.startsWith('out')) rmSync(p(f), { force: true });
        const argv = ['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', input, '--no-progress', ...opts.flat(), ...(withTimes ? ['--times-output'] : [])];
        const out: string[] = [];
        const err: string[] = [];
        const code = await run(['node', 'lrp-tape', ...argv], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
        codes.set(code, (codes.get(code) ?? 0) + 1);
        const text = [...out, ...err].join('\n');
        expect([0, 2, 3, 4], `${JSON.stringify(argv)}\n${text}`).to.include(code);
        expect(text, JSON.stringify(argv)).to.not.match(/\n\s+at /);
        expect(text).to.not.match(/internal error/);
        if (code !== 0) expect(err, `${JSON.stringify(argv)}\n${text}`).to.have.length(1);
        const named = new Set(opts.filter(([k]) => k === '-o' || k === '-r').map(([, v]) => v));
        if (code === 0) {
          ok++;
          for (const v of named) {
            if (!v.endsWith('.safetensors') || !readdirSync(dir).includes(v.slice(dir.length + 1))) continue;
            const rel = rawToTensor(readSafetensorsFile(v).tensors.get('relevance')!);
            expect(rel.toArray().every(Number.isFinite), `NaN relevance with exit 0: ${JSON.stringify(argv)}`).to.equal(true);
          }
        }
        // Nothing but the named outputs appeared, and no input changed.
        for (const f of readdirSync(dir)) {
          if (inputDigests.has(f) || f === 'nodir') continue;
          expect(named.has(p(f)), `unexpected file ${f} after ${JSON.stringify(argv)}`).to.equal(true);
        }
        // A fixture may change only when it was named as an output and is not an input of this command.
        const usedInputs = new Set([p('model.json'), p('w.safetensors'), input]);
        for (const [f, d] of inputDigests) {
          if (digest(p(f)) === d) continue;
          expect(named.has(p(f)) && !usedInputs.has(p(f)), `${f} changed by ${JSON.stringify(argv)}`).to.equal(true);
          writeFileSync(p(f), inputBytes.get(f)!);
        }
      }),
      { numRuns: CLI_RUNS, seed: 15 },
    );
    expect(runs).to.equal(CLI_RUNS);
    // The fuzz must reach both successful and rejected runs to mean anything.
    expect(ok).to.be.above(10);
    expect(runs - ok).to.be.above(10);
    if (process.env.LRP_TAPE_FUZZ_REPORT) console.log(`cli fuzz: ${runs} runs, exit codes ${JSON.stringify([...codes].sort())}`);
  });
});
