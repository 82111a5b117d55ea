/**
 * `explain` on a torchvision architecture as a new user runs it: an image file (JPEG or PNG) with
 * `--preprocess imagenet`, top-5 predictions with ImageNet names, `--target` by name, and the
 * architecture's canonizers applied unless refused. Random weights: the names and the plumbing are
 * under test here, the numbers are covered by the reference cases.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { readPng, readSafetensorsFile, writeStateDictFile } from '../../node/index.js';
import { IMAGENET_CLASSES, resnet18 } from '../../models/index.js';
import { rawToTensor } from '../../nn/index.js';
import { run } from '../../cli/main.js';

const JPG = 'spec/fixtures/preprocess/image.jpg';
const PNG = 'spec/fixtures/preprocess/image.png';

async function runHere(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(['node', 'lrp-tape', ...args], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('cli: explain a torchvision ImageNet model', function () {
  this.timeout(120_000);
  let dir: string;
  const p = (f: string): string => join(dir, f);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-imagenet-'));
    const model = resnet18({ rng: new E.Rng(5) });
    writeStateDictFile(p('resnet18.safetensors'), model);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a JPEG with --preprocess imagenet: named top-5, default resnet canonizer, a 224x224 heatmap', async () => {
    const r = await runHere(['explain', '--model', 'resnet18', '--weights', p('resnet18.safetensors'), '--preprocess', 'imagenet', JPG, '-o', p('h.png'), '-r', p('r.safetensors')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/image\.jpg \(500x375 JPEG, --preprocess imagenet: shorter side 256, center crop 224x224\)/);
    const lines = r.stdout.split('\n');
    const at = lines.indexOf('top-5 predictions:');
    expect(at, r.stdout).to.be.greaterThan(-1);
    const out = rawToTensor(readSafetensorsFile(p('r.safetensors')).tensors.get('output')!, 'output');
    const order = Array.from(out.data.keys()).sort((a, b) => out.data[b]! - out.data[a]!);
    for (let k = 0; k < 5; k++) {
      const i = order[k]!;
      expect(lines[at + 1 + k]).to.match(new RegExp(`^\\s+${i}\\s+${IMAGENET_CLASSES[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\d+\\.\\d%\\s+\\(logit `));
    }
    expect(r.stdout).to.contain('canonizers resnet (the default for resnet18; --no-canonizer to turn off)');
    expect(r.stdout).to.contain(`top class ${order[0]} '${IMAGENET_CLASSES[order[0]!]}'`);
    const h = readPng(p('h.png'));
    expect([h.width, h.height]).to.deep.equal([224, 224]);
  });

  it('--target by name, and a name matching nothing suggests the closest names', async () => {
    const base = ['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', PNG, '--no-canonizer'];
    const ok = await runHere([...base, '--target', 'Golden Retriever']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain("explained class 207 'golden retriever'");
    expect(ok.stdout).not.to.contain('canonizers');
    const miss = await runHere([...base, '--target', 'retreiver']);
    expect(miss.code).to.equal(2);
    expect(miss.stderr).to.match(/--target 'retreiver' matches no class name; closest: '[^']*retriever' \(\d+\)/);
    const range = await runHere([...base, '--target', '1000']);
    expect(range.stderr).to.contain('target 1000 is out of range: the model has 1000 outputs (0..999)');
  });

  it('warns in one line when relevance is not conserved (no canonizer on a ResNet), not with the default canonizer', async () => {
    const base = ['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', PNG, '--times-output'];
    const bare = await runHere([...base, '--no-canonizer']);
    expect(bare.code, bare.stderr).to.equal(0);
    const lines = bare.stderr.split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^warning: relevance is not conserved beyond what the rules explain: it sums to [\d.]+ at the input for [\d.]+ at the output; 8 layers without an LRP rule create it, the most at 'op:add#0' \(add, gradient: created [\d.]+\); try --canonizer resnet$/);
    const canon = await runHere([...base, '-r', p('c.safetensors')]);
    expect(canon.code, canon.stderr).to.equal(0);
    expect(canon.stderr).to.equal('');
    const file = readSafetensorsFile(p('c.safetensors'));
    const out = rawToTensor(file.tensors.get('output')!, 'output');
    const rel = rawToTensor(file.tensors.get('relevance')!, 'relevance');
    const logit = Math.max(...out.data);
    const sum = Array.from(rel.data).reduce((a, v) => a + v, 0);
    // epsilon_plus_flat loses only the biases' and stabilizers' shares: a few percent at most here.
    expect(Math.abs(sum - logit) / Math.abs(logit)).to.be.below(0.05);
  });

  it('weights of another architecture name the first mismatching tensor and what they look like; --size with --preprocess is refused', async () => {
    const wrong = await runHere(['explain', '-m', 'resnet34', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', PNG]);
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.match(/first mismatching tensor 'layer1\.2\.conv1\.weight' \(model \[64, 64, 3, 3\], weights: none\); the weights look like resnet18 \(--model resnet18\)$/);
    const both = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', '--size', '224', PNG]);
    expect(both.stderr).to.contain('--size and --preprocess both set the input size; give one');
  });

  it('a folder in batches: one heatmap per image, the same as explaining it alone, and an index page', async () => {
    mkdirSync(p('photos'));
    copyFileSync(JPG, p('photos/a.jpg'));
    copyFileSync(PNG, p('photos/b.png'));
    copyFileSync(JPG, p('photos/c.jpeg'));
    const r = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', p('photos'), '--batch-size', '2', '--out-dir', p('out')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('batch 1: [0] a.jpg, [1] b.png');
    expect(r.stdout).to.contain('batch 2: [0] c.jpeg');
    const alone = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', p('photos/b.png'), '-o', p('b-alone.png')]);
    expect(alone.code, alone.stderr).to.equal(0);
    const a = readPng(p('out/b.png'));
    const b = readPng(p('b-alone.png'));
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
    expect(worst).to.be.at.most(1);
    const html = readFileSync(p('out/index.html'), 'utf8');
    for (const f of ['a.png', 'b.png', 'c.png']) expect(html).to.contain(`src="${f}"`);
    const glob = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', p('photos/*.jp*g'), '--out-dir', p('out2')]);
    expect(glob.code, glob.stderr).to.equal(0);
    expect(glob.stdout).to.contain('batch 1: [0] a.jpg, [1] c.jpeg');
    const noDir = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), '--preprocess', 'imagenet', p('photos')]);
    expect(noDir.stderr).to.contain('3 inputs: give --out-dir DIR for their heatmaps and index page');
    const sizes = await runHere(['explain', '-m', 'resnet18', '-w', p('resnet18.safetensors'), p('photos/a.jpg'), p('b-alone.png'), '--out-dir', p('out3')]);
    expect(sizes.stderr).to.match(/a batch needs one input size, got 1x3x375x500, 1x3x224x224 .*: use --preprocess imagenet or --size HxW/);
  });
});
