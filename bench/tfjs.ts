/**
 * Optional side runs: the ResNet-18 forward and forward + input-gradient workloads through
 * TensorFlow.js, when it is installed as a dev dependency (this project does not depend on it:
 * it is large). Detected, never required:
 *
 *   - `@tensorflow/tfjs-core` (or the `@tensorflow/tfjs` umbrella) plus `@tensorflow/tfjs-backend-cpu`
 *     and/or `@tensorflow/tfjs-backend-wasm` give the forward runs;
 *   - the gradient runs need the gradient registrations, which only the umbrella `@tensorflow/tfjs`
 *     loads in Node (tfjs-core's own `register_all_gradients` is ESM with extension-less imports).
 *
 * The network is torchvision's ResNet-18 written with tfjs ops (NHWC), batch norm in inference
 * mode, random weights (kaiming fan_out); 1x224x224x3 input.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prepared, Workload } from './workloads.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface TfjsWorkload extends Workload {
  kernels: string;
  threadsUsed(): number;
  threadsNote(): string;
}

const installed = (pkg: string): boolean => existsSync(join(ROOT, 'node_modules', ...pkg.split('/'), 'package.json'));

/** Workload names available with what is installed (no tfjs module is loaded). */
export function tfjsAvailable(): string[] {
  const umbrella = installed('@tensorflow/tfjs');
  if (!umbrella && !installed('@tensorflow/tfjs-core')) return [];
  const out: string[] = [];
  for (const b of ['cpu', 'wasm']) {
    if (!installed(`@tensorflow/tfjs-backend-${b}`)) continue;
    out.push(`tfjs-${b}-resnet18-forward`);
    if (umbrella) out.push(`tfjs-${b}-resnet18-gradient`);
  }
  return out;
}

// Loaded through a variable so that the type checker does not look for the (absent) packages.
type Tf = any;
const load = (spec: string): Promise<any> => import(spec);

let tfPromise: Promise<Tf> | null = null;

/** tfjs with its console banner silenced (it must not reach stdout in --json mode). */
async function loadTf(): Promise<Tf> {
  if (!tfPromise) {
    tfPromise = (async () => {
      const log = console.log;
      const warn = console.warn;
      console.log = (...a: unknown[]) => process.stderr.write(a.map(String).join(' ') + '\n');
      console.warn = console.log;
      try {
        const tf = installed('@tensorflow/tfjs') ? await load('@tensorflow/tfjs') : await load('@tensorflow/tfjs-core');
        return tf.default && !tf.conv2d ? tf.default : tf;
      } finally {
        console.log = log;
        console.warn = warn;
      }
    })();
  }
  return tfPromise;
}

interface TfResNet {
  forward(x: unknown): unknown;
}

function buildResNet18(tf: Tf): TfResNet {
  let seed = 1;
  const kaiming = (k: number, cin: number, cout: number): unknown =>
    tf.variable(tf.mul(tf.randomNormal([k, k, cin, cout], 0, 1, 'float32', seed++), Math.sqrt(2 / (k * k * cout))), false);
  const bn = (c: number) => ({
    mean: tf.zeros([c]),
    variance: tf.ones([c]),
    offset: tf.zeros([c]),
    scale: tf.ones([c]),
  });
  const pad = (p: number) => [[0, 0], [p, p], [p, p], [0, 0]];
  const convBn = (x: unknown, w: unknown, stride: number, p: number, b: ReturnType<typeof bn>): unknown =>
    tf.batchNorm(tf.conv2d(x, w, stride, pad(p)), b.mean, b.variance, b.offset, b.scale, 1e-5);
  interface Block { w1: unknown; b1: ReturnType<typeof bn>; w2: unknown; b2: ReturnType<typeof bn>; stride: number; down: { w: unknown; b: ReturnType<typeof bn> } | null }
  const blocks: Block[] = [];
  let inC = 64;
  for (const [planes, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]] as const) {
    for (let i = 0; i < 2; i++) {
      const s = i === 0 ? stride : 1;
      blocks.push({
        w1: kaiming(3, inC, planes), b1: bn(planes), w2: kaiming(3, planes, planes), b2: bn(planes), stride: s,
        down: s !== 1 || inC !== planes ? { w: kaiming(1, inC, planes), b: bn(planes) } : null,
      });
      inC = planes;
    }
  }
  const stemW = kaiming(7, 3, 64);
  const stemB = bn(64);
  const fcW = tf.variable(tf.randomUniform([512, 1000], -1 / Math.sqrt(512), 1 / Math.sqrt(512), 'float32', seed++), false);
  const fcB = tf.zeros([1000]);
  return {
    forward(x) {
      let y = tf.maxPool(tf.relu(convBn(x, stemW, 2, 3, stemB)), 3, 2, 1);
      for (const b of blocks) {
        const out = convBn(tf.relu(convBn(y, b.w1, b.stride, 1, b.b1)), b.w2, 1, 1, b.b2);
        const id = b.down ? convBn(y, b.down.w, b.stride, 0, b.down.b) : y;
        y = tf.relu(tf.add(out, id));
      }
      return tf.add(tf.matMul(tf.mean(y, [1, 2]), fcW), fcB);
    },
  };
}

/** ResNet-18 forward FLOPs (conv + linear, 2 per multiply-add): what modelForwardFlops counts for resnet18 at 1x3x224x224. */
const RESNET18_FLOPS = 3_628_146_688;

export async function tfjsWorkloads(o: { threads: number }): Promise<TfjsWorkload[]> {
  const names = tfjsAvailable();
  const out: TfjsWorkload[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const kind of ['forward', 'gradient'] as const) {
      const name = `tfjs-${backend}-resnet18-${kind}`;
      if (!names.includes(name)) continue;
      let threadsUsed = 1;
      let threadsNote = 'tfjs cpu backend is single-threaded';
      out.push({
        name,
        description: `TensorFlow.js ${backend} backend: ResNet-18 ${kind === 'forward' ? 'forward' : 'forward + input gradient'}, 1x224x224x3`,
        kernels: `tfjs-${backend}`,
        // The plain-JS backend takes seconds per run: fewer runs, cut further by a time budget.
        runs: backend === 'cpu' ? 3 : 5,
        quickRuns: backend === 'cpu' ? 1 : 3,
        warmup: 1,
        ...(backend === 'cpu' ? { budgetMs: 60_000 } : {}),
        threadsUsed: () => threadsUsed,
        threadsNote: () => threadsNote,
        async setup(): Promise<Prepared> {
          const tf = await loadTf();
          await load(`@tensorflow/tfjs-backend-${backend}`);
          if (backend === 'wasm') {
            const wasm = await load('@tensorflow/tfjs-backend-wasm');
            (wasm.setThreadsCount ?? wasm.default?.setThreadsCount)?.(o.threads);
            if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
            await tf.ready();
            const n = Number((wasm.getThreadsCount ?? wasm.default?.getThreadsCount)?.() ?? 1);
            threadsUsed = n;
            threadsNote = `tfjs wasm getThreadsCount() = ${n} (setThreadsCount(${o.threads}) asked)`;
          } else {
            if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend did not initialise');
            await tf.ready();
          }
          const net = buildResNet18(tf);
          const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 224);
          const seed = tf.tidy(() => tf.oneHot(tf.argMax(net.forward(x), 1), 1000).asType('float32'));
          const g = kind === 'gradient' ? tf.grad((xx: unknown) => tf.sum(tf.mul(net.forward(xx), seed))) : null;
          return {
            run: () => {
              const r = tf.tidy(() => (g ? g(x) : net.forward(x)));
              r.dataSync();
              r.dispose();
            },
            flops: kind === 'forward' ? RESNET18_FLOPS : 2 * RESNET18_FLOPS,
            flopsNote: kind === 'forward' ? 'conv + linear layers' : 'forward + input-gradient convs/linears',
            extra: { tfjs_version: tf.version?.['tfjs-core'] ?? tf.version_core ?? null },
          };
        },
      });
    }
  }
  return out;
}
