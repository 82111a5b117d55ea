/**
 * node/output-path.ts: every writer (PNG, safetensors, the demo's files, the CLI) writes only to a
 * new path or over a writable regular file that is none of the command's inputs, so that no
 * mistyped -o destroys a model, an input or what a link points to.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { FileIoError, LrpTapeError } from '../../engine/errors.js';
import { checkOutputPath, UnsafeOutputError, writeBytesAtomic, writePng, writeSafetensorsFile } from '../../node/index.js';
import { createImage } from '../../image/index.js';
import { tensorToRaw } from '../../nn/index.js';
import { writeFileAtomic } from '../../demo/files.js';
import { run } from '../../cli/main.js';

describe('output paths: no file clobbered', () => {
  let dir: string;
  const p = (f: string): string => join(dir, f);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-out-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const writers: [string, (path: string, inputs?: string[]) => void][] = [
    ['writeBytesAtomic', (path, inputs) => writeBytesAtomic(path, new Uint8Array([1, 2, 3]), { inputs })],
    ['writePng', (path, inputs) => writePng(path, createImage(1, 1, 3), { inputs })],
    ['writeSafetensorsFile', (path, inputs) => writeSafetensorsFile(path, new Map([['t', tensorToRaw(E.zeros([2]))]]), undefined, { inputs })],
    ['demo writeFileAtomic', (path) => writeFileAtomic(path, '<html></html>')],
  ];

  it('writes a new path and over an existing writable regular file', () => {
    for (const [name, write] of writers) {
      write(p(`${name}.new`));
      expect(statSync(p(`${name}.new`)).isFile(), name).to.equal(true);
      writeFileSync(p(`${name}.old`), 'old');
      write(p(`${name}.old`));
      expect(readFileSync(p(`${name}.old`), 'utf8'), name).to.not.equal('old');
    }
  });

  it('refuses a symbolic link, a FIFO, a device, a directory, a read-only file (even as root) and an empty path, touching nothing', () => {
    writeFileSync(p('target'), 'target');
    symlinkSync(p('target'), p('link'));
    execFileSync('mkfifo', [p('fifo')]);
    mkdirSync(p('folder'));
    writeFileSync(p('readonly'), 'ro');
    chmodSync(p('readonly'), 0o444);
    const cases: [string, RegExp][] = [
      [p('link'), /symbolic link/],
      [p('fifo'), /FIFO/],
      ['/dev/null', /character device/],
      [p('folder'), /directory/],
      [p('readonly'), /read-only/],
      ['', /empty/],
    ];
    for (const [name, write] of writers) {
      for (const [path, why] of cases) {
        let err: unknown;
        try {
          write(path);
        } catch (e) {
          err = e;
        }
        // Each writer words its own error (PngError, SafetensorsError, ...), always of category 'io'.
        expect(err, `${name} ${path}`).to.be.instanceOf(LrpTapeError);
        expect((err as LrpTapeError).category, `${name} ${path}`).to.equal('io');
        expect((err as Error).cause ?? err, `${name} ${path}`).to.be.instanceOf(UnsafeOutputError);
        expect((err as Error).message, `${name} ${path}`).to.match(why);
      }
    }
    expect(lstatSync(p('link')).isSymbolicLink()).to.equal(true);
    expect(readFileSync(p('target'), 'utf8')).to.equal('target');
    expect(lstatSync(p('fifo')).isFIFO()).to.equal(true);
    expect(statSync('/dev/null').isCharacterDevice()).to.equal(true);
    expect(readFileSync(p('readonly'), 'utf8')).to.equal('ro');
  });

  it("refuses the command's own inputs, by path and through a hard link", () => {
    writeFileSync(p('input.bin'), 'input');
    linkSync(p('input.bin'), p('hardlink.bin'));
    for (const [name, write] of writers.slice(0, 3)) {
      expect(() => write(p('input.bin'), [p('input.bin')]), name).to.throw(LrpTapeError, /it is the command's input/);
      expect(() => write(p('hardlink.bin'), [p('input.bin')]), name).to.throw(LrpTapeError, /it is the command's input/);
    }
    expect(readFileSync(p('input.bin'), 'utf8')).to.equal('input');
    expect(checkOutputPath(p('fresh.bin'), { inputs: [p('input.bin')] })).to.equal(p('fresh.bin'));
    expect(() => checkOutputPath(join(dir, 'no', 'x'), { requireFolder: true })).to.throw(UnsafeOutputError, /folder .* does not exist/);
    expect(() => checkOutputPath(p('input.bin'), { inputs: [p('input.bin')] })).to.throw(FileIoError, /^refusing to write '.*input\.bin': it is the command's input/);
  });

  describe('the CLI', () => {
    const spec = { type: 'Sequential', children: [['0', { type: 'Linear', in_features: 4, out_features: 3 }]] };
    async function runHere(args: readonly string[]): Promise<{ code: number; stderr: string }> {
      const err: string[] = [];
      const code = await run(['node', 'lrp-tape', ...args], { stdout: () => {}, stderr: (l) => err.push(l) });
      return { code, stderr: err.join('\n') };
    }
    before(async () => {
      const { buildFromSpec } = await import('../../models/index.js');
      const { writeStateDictFile } = await import('../../node/index.js');
      writeStateDictFile(p('w.safetensors'), buildFromSpec(spec, { rng: new E.Rng(1) }));
      writeFileSync(p('model.json'), JSON.stringify(spec));
      writeSafetensorsFile(p('x.safetensors'), new Map([['input', tensorToRaw(E.randn([1, 4], { rng: new E.Rng(2) }))]]));
    });
    const base = (): string[] => ['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors')];

    it('refuses -o/-r over an input, over each other, an empty name, a FIFO, a symlink and /dev/null; inputs stay intact', async () => {
      const before = readFileSync(p('w.safetensors'));
      const cases: [string[], RegExp, number][] = [
        [[...base(), '-r', p('w.safetensors')], /cannot write --relevance '.*w\.safetensors': it is the command's input/, 4],
        [[...base(), '-r', p('x.safetensors')], /it is the command's input/, 4],
        [[...base(), '-r', p('model.json')], /it is the command's input/, 4],
        [[...base(), '-r', ''], /--relevance needs a file name, got ''/, 2],
        [[...base(), '-o', ''], /--out needs a file name, got ''/, 2],
        [[...base(), '-r', p('fifo')], /FIFO/, 4],
        [[...base(), '-r', p('link')], /symbolic link/, 4],
        [[...base(), '-r', '/dev/null'], /character device/, 4],
        [[...base(), '-r', p('readonly')], /read-only/, 4],
        [['explain', '-m', p('model.json'), '-w', p('w.safetensors'), '-i', p('x.safetensors'), '-o', p('same.png'), '-r', p('same.png')], /--out and --relevance name the same file/, 2],
        [['demo', '--out', ''], /--out needs a folder name/, 2],
      ];
      for (const [args, pattern, code] of cases) {
        const r = await runHere(args);
        expect(r.code, r.stderr).to.equal(code);
        expect(r.stderr.split('\n'), r.stderr).to.have.length(1);
        expect(r.stderr).to.match(pattern);
      }
      expect(readFileSync(p('w.safetensors')).equals(before)).to.equal(true);
      expect(existsSync(p('same.png'))).to.equal(false);
      expect(statSync('/dev/null').isCharacterDevice()).to.equal(true);
    });
  });
});
