// One explanation that the package tests run everywhere the library runs: in the repository from
// source, from the installed tarball with plain node, and in Chromium from an esbuild bundle. It
// takes the library's namespace, so every runtime computes exactly the same thing. Plain JavaScript
// on purpose: a consumer with no TypeScript runs it as it is.

/** A small CNN with seeded weights, one seeded input, epsilon_gamma_box and epsilon_plus_flat relevance. */
export function scenario(lib) {
  const { engine: E, nn, attribution, composites } = lib;
  const rng = new E.Rng(20261205);
  const model = new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1, rng }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1, rng }),
    new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(4),
    new nn.Flatten(),
    new nn.Linear(32 * 4 * 4, 10, { rng }),
  );
  model.eval();
  const x = E.randn([1, 3, 32, 32], { rng });
  const rec = attribution.recordForward(model, x);
  const seed = attribution.oneHotSeed(rec.output, [3]);
  const flat = rec.attribute(seed, { composite: composites.epsilonPlusFlat() }).relevance;
  const box = rec.attribute(seed, { composite: composites.epsilonGammaBox({ low: -3, high: 3 }) }).relevance;
  return {
    backend: lib.kernelStatus().backend,
    output: Array.from(rec.output.data),
    flat: Array.from(flat.data),
    box: Array.from(box.data),
  };
}

/** Largest absolute difference between two equally long number arrays (Infinity when lengths differ). */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
