/**
 * `lrp-tape`: explain a model's decision, list what the library knows, run the reference cases,
 * run the demo. `run(argv)` returns the exit status (0 ok, 1 internal error or failed cases,
 * 2 usage/configuration, 3 bad input data, 4 I/O; docs/ERRORS.md); `cli/bin.ts` (the published
 * executable) and `cli/run-source.js` both call it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CMAPS, DEFAULT_CMAP } from '../image/index.js';
import { ATTRIBUTORS, BUILDER_NAMES } from './names.js';
import { CliError, EXIT_USAGE, reportError } from './errors.js';
import { progressBars } from './progress.js';
import type { ExplainOptions } from './explain.js';
import type { EvaluateCliOptions } from './evaluate.js';

// Command implementations load on use, so `--help` and usage errors answer without loading the engine.
const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The package's version: package.json is one folder up from source, two from dist/cli. */
function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lrp-tape' && pkg.version) return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return '0.0.0';
}

export interface RunIO {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

/** The commander program; `io` redirects its output (tests). Actions set `status`. */
export function buildProgram(io: RunIO = {}): { program: Command; status: () => number } {
  const out = io.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.stderr ?? ((l: string) => process.stderr.write(`${l}\n`));
  let status = 0;
  const debug = (): boolean => Boolean(program.opts().debug) || Boolean(process.env.LRP_TAPE_DEBUG);
  const guard = async (name: string, fn: () => Promise<number | void>) => {
    try {
      status = (await fn()) ?? 0;
    } catch (e) {
      status = reportError(name, e, err, debug());
    }
  };

  const program = new Command('lrp-tape')
    .description('Layer-wise Relevance Propagation on a reverse-mode autograd tape (zennit semantics, exact double backward).')
    .version(version())
    .option('--debug', 'print the stack trace of an error (also LRP_TAPE_DEBUG=1)')
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => out(s.replace(/\n$/, '')), writeErr: (s) => err(s.replace(/\n$/, '')) })
    .exitOverride();

  program
    .command('explain')
    .description('explain a model\'s output for one input: relevance tensor, heatmap PNG and a summary')
    .requiredOption('-m, --model <name|file.json>', `a builder (${BUILDER_NAMES.join(', ')}) or a model-spec JSON file (FORMAT.md)`)
    .option('-w, --weights <file.safetensors>', 'state dict with PyTorch names (required)')
    .option('--weights-prefix <prefix>', "use only tensors whose name starts with this prefix, stripped (e.g. 'param/' for reference cases)")
    .argument('[inputs...]', 'the input (same as --input); several files, folders or patterns ("photos/*.jpg") explain a batch into --out-dir')
    .option('-i, --input <file>', 'a PNG or JPEG image, or a safetensors file with the input tensor ([C,H,W], [N,C,H,W], [F] or [N,F])')
    .option('--input-key <name>', "tensor to use from a safetensors input (default: 'input', or the only tensor)")
    .option('--preprocess <preset>', "torchvision preprocessing for an image input: 'imagenet' = shorter side to 256 (antialiased bilinear), center crop 224, ImageNet mean/std")
    .option('--size <HxW>', 'stretch an image input to HxW (or N for NxN) before normalising; default: keep its size')
    .option('--mean <r,g,b>', 'per-channel mean subtracted from an image input (default ImageNet: 0.485,0.456,0.406)')
    .option('--std <r,g,b>', 'per-channel std an image input is divided by (default ImageNet: 0.229,0.224,0.225)')
    .option('-c, --composite <name>', "composite (see 'lrp-tape composites'); 'gradient' for the plain gradient", 'epsilon_plus_flat')
    .option('-a, --arg <key=value>', 'composite argument, repeatable (numbers and JSON parsed: --arg epsilon=0.25 --arg low=-2.2)', collect, [])
    .option('--canonizer <name>', "canonizer, repeatable (e.g. resnet, sequential_merge_batchnorm); default: what the architecture needs (resnet* -> resnet, vgg*_bn -> sequential_merge_batchnorm)", collect, [])
    .option('--no-canonizer', 'no canonizer, not even the architecture\'s default')
    .option('-t, --target <K|name>', 'class to explain, by index or ImageNet name (e.g. 207 or "golden retriever"); default: the top class of each input')
    .option('--times-output', 'seed with output * one-hot (relevance in logit units) instead of the one-hot')
    .addOption(new Option('--attributor <name>', 'how to attribute').choices([...ATTRIBUTORS]).default('gradient'))
    .option('--window <n>', 'occlusion window (pixels)', undefined)
    .option('--stride <n>', 'occlusion stride (default: the window)')
    .option('--n-iter <n>', 'samples of integrated_gradients / smoothgrad (default 20)')
    .option('--noise-level <x>', 'smoothgrad noise level (default 0.1)')
    .option('-o, --out <heatmap.png>', 'write the relevance heatmap (channels summed, symmetric normalisation)')
    .option('-r, --relevance <out.safetensors>', "write the relevance tensor ('relevance') and the output ('output')")
    .option('--cmap <name|CMSL>', `colour map: ${Object.keys(CMAPS).join(', ')}, or zennit CMSL source`, DEFAULT_CMAP)
    .option('--level <x>', "zennit's palette level (>1 saturates earlier)", '1')
    .addOption(new Option('--dtype <dtype>', 'compute in this dtype').choices(['float32', 'float64']).default('float32'))
    .option('--ledger', 'print the relevance ledger: per layer, relevance arriving, passed on and absorbed (bias, stabilizer)')
    .option('--no-progress', 'no progress bar (bars are shown only on a terminal, never under CI)')
    .option('-q, --quiet', 'no progress bar (same as --no-progress)')
    .option('--batch-size <n>', 'images explained together when there are several inputs', '8')
    .option('--out-dir <dir>', 'with several inputs: one heatmap per image and an index.html here')
    .action((inputs: string[], opts: Omit<ExplainOptions, 'input'> & { input?: string; progress: boolean; quiet?: boolean; batchSize: string; outDir?: string }) =>
      guard('explain', async () => {
        if (inputs.length && opts.input !== undefined) throw new CliError(`give the input once: '${inputs[0]}' and --input '${opts.input}'`);
        const all = opts.input !== undefined ? [opts.input] : inputs;
        if (!all.length) throw new CliError('explain needs an input: a file argument or --input FILE');
        const { expandInputs, explainBatch } = await import('./batch.js');
        const { files, many } = expandInputs(all);
        const file = files[0]!;
        if (many || opts.outDir !== undefined) {
          const batchSize = Number(opts.batchSize);
          if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError(`--batch-size must be a positive integer, got '${opts.batchSize}'`);
          if (opts.outDir === undefined) throw new CliError(`${files.length} inputs: give --out-dir DIR for their heatmaps and index page`);
          explainBatch(files, { ...opts, input: file }, { stdout: out, warn: err, progress: progressBars(opts.progress && !opts.quiet) }, { batchSize, outDir: opts.outDir });
          return;
        }
        const { explainCommand } = await import('./explain.js');
        explainCommand({ ...opts, input: file }, { stdout: out, warn: err, progress: progressBars(opts.progress && !opts.quiet) });
      }),
    );

  program
    .command('composites')
    .description('list the composites, rules and canonizers, one line each')
    .action(() =>
      guard('composites', async () => {
        const { describeComposites } = await import('../composites/index.js');
        const { describeRules } = await import('../rules/index.js');
        const { describeCanonizers } = await import('../canonizers/index.js');
        const comps = describeComposites();
        const rules = describeRules();
        const canons = describeCanonizers();
        const w = Math.max(...[...comps, ...rules, ...canons].map((d) => d.name.length)) + 2;
        const pad = (s: string, n: number) => s.padEnd(n);
        out('composites:');
        for (const c of comps) out(`  ${pad(c.name, w)}${c.doc}${c.keys.length ? ` (args: ${c.keys.join(', ')})` : ''}`);
        out(`  ${pad('gradient', w)}no composite: the plain gradient`);
        out('rules:');
        for (const r of rules) out(`  ${pad(r.name, w)}${r.doc}${r.keys.length ? ` (args: ${r.keys.join(', ')})` : ''}`);
        out('canonizers:');
        for (const c of canons) out(`  ${pad(c.name, w)}${c.doc}`);
      }),
    );

  program
    .command('conformance')
    .description('run the zennit reference cases (a directory or one .safetensors case file)')
    .argument('[dir]', 'cases to run (default: spec/fixtures/zennit)')
    .action((dir: string | undefined) =>
      guard('conformance', async () => {
        const { conformanceCommand } = await import('./conformance-main.js');
        return conformanceCommand(dir);
      }),
    );

  program
    .command('demo')
    .description('train a plain and an explanation-guided CNN on shapes with a decoy patch; write an HTML report')
    .option('-c, --composite <name>', 'composite for the explanations and the penalty', 'epsilon_plus_flat')
    .option('-a, --arg <key=value>', 'composite argument, repeatable', collect, [])
    .option('--epochs <n>', 'epochs for each model', '8')
    .option('--seed <n>', 'seed for data, initial weights and batch order', '0')
    .option('-o, --out <dir>', 'output folder', 'demo-out')
    .option('--lambda <x>', 'weight of the explanation penalty', '10')
    .option('--train-size <n>', 'training images', '1200')
    .option('--test-size <n>', 'images in each test set', '300')
    .option('--batch-size <n>', 'mini-batch size', '32')
    .option('--lr <x>', 'Adam learning rate', '0.003')
    .option('--no-progress', 'no progress bars (bars are shown only on a terminal, never under CI)')
    .action((o: Record<string, string | string[] | boolean>) =>
      guard('demo', async () => {
        const { runDemo } = await import('../demo/run.js');
        const { parseArg } = await import('./explain.js');
        const int = (k: string, min: number): number => {
          const v = Number(o[k]);
          if (!Number.isInteger(v) || v < min) throw new CliError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be an integer >= ${min}, got '${String(o[k])}'`);
          return v;
        };
        const num = (k: string, ok: (n: number) => boolean, what: string): number => {
          const v = Number(o[k]);
          if (!ok(v)) throw new CliError(`--${k} must be ${what}, got '${String(o[k])}'`);
          return v;
        };
        if (o.out === '') throw new CliError("--out needs a folder name, got ''");
        const progress = progressBars(o.progress as boolean);
        const m = runDemo({
          composite: o.composite as string,
          compositeArgs: Object.fromEntries((o.arg as string[]).map(parseArg)),
          epochs: int('epochs', 1),
          seed: int('seed', 0),
          out: o.out as string,
          lambda: num('lambda', (n) => Number.isFinite(n) && n >= 0, 'a number >= 0'),
          trainSize: int('trainSize', 3),
          testSize: int('testSize', 3),
          batchSize: int('batchSize', 1),
          lr: num('lr', (n) => Number.isFinite(n) && n > 0, 'a positive number'),
          log: out,
          progress,
        });
        const p = (v: number) => `${(100 * v).toFixed(1)}%`;
        out('');
        out(`                 accuracy consistent  accuracy randomised  decoy share of positive relevance`);
        for (const [name, r] of [['plain', m.plain], ['guided', m.guided]] as const) {
          out(`  ${name.padEnd(15)}${p(r.accuracy.consistent).padStart(19)}  ${p(r.accuracy.randomised).padStart(19)}  ${p(r.decoyShare.consistent).padStart(33)}`);
        }
        out('');
        out(m.verdict.summary);
        out(`total ${m.timings.totalSeconds.toFixed(1)} s`);
        out(`report: ${m.files.report}`);
        out(`metrics: ${m.files.metrics}`);
      }),
    );

  program
    .command('evaluate')
    .description("faithfulness metrics and sanity checks of attribution methods: on the demo's plain and guided models (trained once, cached) and test set, or on a folder of PNGs")
    .option('--json', 'print one JSON object: {"models": {"plain": {"<method>": {"<metric>": {"mean", "low", "high"}}}, "guided": ...}}')
    .option('--methods <list>', 'comma-separated methods: composite presets, gradient, gradient_x_input, random, smoothgrad, integrated_gradients, occlusion', 'epsilon_plus_flat,gradient,random')
    .option('--metrics <list>', 'comma-separated metrics (see docs/EVALUATION.md; also relevance_sum, local_lipschitz_estimate) (default: pixel_flipping_morf_auc,pixel_flipping_lerf_auc,pixel_flipping_gap,relevance_mass_accuracy,randomisation_spearman_last,sparseness)')
    .option('--images <dir>', "a folder of PNGs (or JPEGs; also files or a pattern) to evaluate on instead of the demo's test set")
    .option('--masks <dir>', 'with --images: one black (0) / white (255) PNG per image, same base name, the size the model sees; without it relevance_mass_accuracy is left out')
    .option('-m, --model <name|file.json>', "with --images: a builder or a model-spec JSON file, as for explain (default: the demo's two models)")
    .option('-w, --weights <file.safetensors>', 'with --model: its state dict')
    .option('--weights-prefix <prefix>', 'use only tensors whose name starts with this prefix, stripped')
    .option('-t, --target <K|name>', "with --images: the class to explain in every image (default: each image's predicted class)")
    .option('--size <HxW>', 'with --images: stretch every image to HxW (or N for NxN)')
    .option('--preprocess <preset>', "with --images: torchvision preprocessing ('imagenet')")
    .option('--mean <r,g,b>', "with --images: per-channel mean subtracted (default: ImageNet's with --model, 0 for the demo's models)")
    .option('--std <r,g,b>', "with --images: per-channel std divided by (default: ImageNet's with --model, 1 for the demo's models)")
    .option('--limit <n>', 'use the first n images (default: all)')
    .option('--test-set <name>', "the demo's 'consistent' (patch colour = class, as in training; the default) or 'randomised' test set")
    .option('--patch <n>', 'pixel flipping: side of the square patches replaced together', '1')
    .option('--steps <n>', 'pixel flipping: steps from the intact to the fully replaced image', '20')
    .option('--baseline <name>', 'pixel flipping: zero, mean, blur or uniform', 'zero')
    .option('--cache <dir>', "where the demo's trained models are kept (trained on first use)", '.lrp-tape-cache/demo')
    .option('--html <file.html>', 'also write an HTML report with the perturbation curves (SVG) and example heatmaps')
    .option('--no-progress', 'no progress bar (bars are shown only on a terminal, never under CI)')
    .action((opts: EvaluateCliOptions) =>
      guard('evaluate', async () => {
        const { evaluateCommand } = await import('./evaluate.js');
        evaluateCommand(opts, { stdout: out, stderr: err, progress: progressBars(opts.progress) });
      }),
    );

  return { program, status: () => status };
}

/** Runs the CLI on `argv` (process.argv style: node, script, args...) and returns the exit status. */
export async function run(argv: readonly string[] = process.argv, io: RunIO = {}): Promise<number> {
  const { program, status } = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every usage error (unknown option, missing value, bad choice) is bad input.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' || e.exitCode === 0) return 0;
      return EXIT_USAGE;
    }
    return reportError('', e, io.stderr, argv.includes('--debug'));
  }
  return status();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await run(process.argv);
}
