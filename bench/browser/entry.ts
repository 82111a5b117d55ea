/**
 * The page side of `npm run bench:browser`: the same resnet18-lrp workload as bench/workloads.ts
 * (seeded ResNet-18, seeded input, the ResNet canonizer, epsilon_plus_flat for the predicted class,
 * forward recording included), timed with performance.now() in the page. Imports the library's
 * root entry as a browser bundle would.
 */
import { engine as E, models, canonizers, composites, attribution, ready } from '../../index.js';

interface BenchResult {
  backend: string;
  threads: number;
  warmup: number;
  runs: number[];
}

async function main(): Promise<BenchResult> {
  const params = new URLSearchParams(location.search);
  const warmup = Number(params.get('warmup') ?? 3);
  const runs = Number(params.get('runs') ?? 9);
  const status = await ready();
  const model = models.resnet18({ rng: new E.Rng(18) });
  model.eval();
  const x = E.randn([1, 3, 224, 224], { dtype: 'float32', rng: new E.Rng(224) });
  const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
  const composite = composites.epsilonPlusFlat();
  const once = (): void => {
    const rec = attribution.recordForward(view, x);
    const seed = attribution.oneHotSeed(rec.output, [E.argmax(rec.output, 1).data[0]!]);
    rec.attribute(seed, { composite });
  };
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  return { backend: status.backend, threads: status.threads, warmup, runs: times };
}

declare const location: { search: string };
declare const document: { title: string };

main().then(
  (r) => {
    (globalThis as { __bench?: unknown }).__bench = r;
    document.title = 'done';
  },
  (e: unknown) => {
    (globalThis as { __bench?: unknown }).__bench = { error: String(e) };
  },
);
