/**
 * Rule coverage: which recorded layers a composite gives a rule, which keep the plain gradient,
 * and which probably need a rule: the usual reasons an LRP explanation is silently wrong.
 *
 * - `residual-add`: a functional `add`/`sub` of two activations (a residual sum no canonizer made
 *   explicit). Its gradient copies the whole relevance to BOTH branches, so relevance doubles.
 * - `product`: a functional product of two activations (gating, attention); its gradient is not
 *   conservative.
 * - `activation-gradient`: an activation (module or functional op) left with its plain gradient
 *   under an LRP composite (the presets map Activation to Pass).
 * - `linear-gradient`: a Convolution/Dense layer (or a functional matmul/conv2d) without a rule
 *   under an LRP composite.
 * - `pool-gradient`, `sum-gradient`: average pooling or an explicit Sum without a rule (the
 *   presets use Norm).
 * - `batchnorm`: a batch norm still in the graph: Pass ignores its scale and shift; merge it into
 *   the linear layer before it with a canonizer (info).
 * - `op-gradient`: another functional op on the activation path that keeps its gradient and does
 *   not just move values around (e.g. a reduction, whose gradient copies relevance) (info).
 *
 * Warnings are only given under an LRP composite (one that assigns an LRP rule, or a zennit LRP
 * preset by name): for the plain gradient, DeconvNet or guided backprop the gradient is intended.
 */
import type { LayerRecord, Recording, Tensor } from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import { ruleFor, type RecordedForward } from '../attribution/index.js';
import { dependentTensors, inferInputs, layerKeys } from './trace.js';

export type CoverageStatus = 'rule' | 'gradient' | 'uncovered';
export type CoverageCode =
  | 'residual-add'
  | 'product'
  | 'activation-gradient'
  | 'linear-gradient'
  | 'pool-gradient'
  | 'sum-gradient'
  | 'batchnorm'
  | 'op-gradient';

export interface CoverageLayer {
  index: number;
  key: string;
  name: string;
  type: string;
  kind: string;
  /** Rule name; null for the plain gradient. */
  rule: string | null;
  /** 'uncovered': plain gradient where a rule is probably needed (a warning names why). */
  status: CoverageStatus;
}

export interface CoverageWarning {
  key: string;
  code: CoverageCode;
  severity: 'warning' | 'info';
  message: string;
}

export interface Coverage {
  composite: string | null;
  /** The composite is an LRP composite (warnings apply). */
  lrp: boolean;
  /** The layers on the input's path, in execution order. */
  layers: CoverageLayer[];
  withRule: string[];
  gradient: string[];
  uncovered: string[];
  warnings: CoverageWarning[];
  /** Recorded layers not on the input's path (e.g. a canonizer's merged-parameter arithmetic). */
  hiddenLayers: number;
}

export interface CoverageOptions {
  /** The model input(s), when `target` is a bare Recording (inferred otherwise). */
  inputs?: readonly Tensor[];
}

const LRP_RULES = new Set(['Epsilon', 'ZPlus', 'AlphaBeta', 'Gamma', 'ZBox', 'Flat', 'WSquare', 'Norm']);
const LRP_PRESETS = new Set(['epsilon_gamma_box', 'epsilon_plus', 'epsilon_plus_flat', 'epsilon_alpha2_beta1', 'epsilon_alpha2_beta1_flat', 'excitation_backprop']);
/** Ops whose gradient only moves, copies back or selects values: relevance is routed, not rescaled. */
const ROUTING_OPS = new Set(['reshape', 'permute', 'slice', 'concat', 'alias', 'cast', 'expand', 'gather', 'embed', 'neg']);
const ACTIVATION_OPS = new Set(['relu', 'leaky_relu', 'tanh', 'sigmoid', 'softplus', 'exp', 'log', 'sqrt', 'abs', 'clamp', 'pow_scalar']);
/** Kinds whose plain gradient is what the LRP presets use too. */
const GRADIENT_KINDS = new Set(['MaxPool', 'Flatten', 'Dropout', 'Identity']);

function isRecorded(x: RecordedForward | Recording): x is RecordedForward {
  return 'recording' in x && 'input' in x;
}

/** What a layer without a rule probably needs, or null when its gradient is fine. */
function diagnose(layer: LayerRecord, activationInputs: number, hasRule: boolean): Omit<CoverageWarning, 'key'> | null {
  const op = layer.kind.startsWith('op:') ? layer.type : null;
  if (hasRule) {
    return layer.kind === 'BatchNorm'
      ? { code: 'batchnorm', severity: 'info', message: 'batch norm not merged: its scale and shift are ignored by Pass; merge it into the linear layer before it (canonizer sequential_merge_batchnorm or resnet)' }
      : null;
  }
  if (op === null) {
    switch (layer.kind) {
      case 'Activation':
        return { code: 'activation-gradient', severity: 'warning', message: `${layer.type} keeps its plain gradient (the LRP presets map Activation to Pass)${layer.type === 'ReLU' ? '; harmless only when the next rule weights by its input' : ''}` };
      case 'Convolution':
      case 'Dense':
        return { code: 'linear-gradient', severity: 'warning', message: `${layer.kind} layer without a rule: the relevance follows the plain gradient (map '${layer.kind}' to Epsilon, ZPlus, ...)` };
      case 'AvgPool':
        return { code: 'pool-gradient', severity: 'warning', message: 'average pooling without a rule (the presets use Norm)' };
      case 'Sum':
        return { code: 'sum-gradient', severity: 'warning', message: 'explicit Sum without a rule: its gradient copies the relevance to every summand (the presets use Norm)' };
      case 'BatchNorm':
        return { code: 'batchnorm', severity: 'warning', message: 'batch norm keeps its plain gradient: merge it with a canonizer, or map BatchNorm to Pass' };
      default:
        return GRADIENT_KINDS.has(layer.kind) ? null : { code: 'op-gradient', severity: 'info', message: `layer kind '${layer.kind}' keeps its plain gradient` };
    }
  }
  if ((op === 'add' || op === 'sub') && activationInputs >= 2) {
    return { code: 'residual-add', severity: 'warning', message: `${op} of ${activationInputs} activations with the plain gradient: every branch gets the whole relevance (make the residual sum explicit with a canonizer, or map '${layer.kind}' to Norm)` };
  }
  if ((op === 'mul' || op === 'div' || op === 'matmul') && activationInputs >= 2) {
    return { code: 'product', severity: 'warning', message: `${op} of two activations with the plain gradient: not conservative (gating/attention needs its own rule)` };
  }
  if (op === 'matmul' || op === 'conv2d') {
    return { code: 'linear-gradient', severity: 'warning', message: `functional ${op} without a rule (use a Linear/Conv2d module, or map '${layer.kind}' to a rule)` };
  }
  if (ACTIVATION_OPS.has(op)) {
    return { code: 'activation-gradient', severity: 'warning', message: `functional ${op} keeps its plain gradient (use the module, or map '${layer.kind}' to Pass)` };
  }
  if (op === 'add' || op === 'sub' || ROUTING_OPS.has(op)) return null;
  return { code: 'op-gradient', severity: 'info', message: `functional ${op} keeps its plain gradient, which does not conserve relevance` };
}

/** Which layers of the recording `composite` covers (see the file comment for the warnings). */
export function ruleCoverage(target: RecordedForward | Recording, composite: Composite | null, opts: CoverageOptions = {}): Coverage {
  const recording = isRecorded(target) ? target.recording : target;
  const inputs = opts.inputs ?? (isRecorded(target) ? [target.input] : inferInputs(recording));
  const dep = dependentTensors(recording, inputs);
  const keys = layerKeys(recording);
  const assignment = composite ? composite.assign(recording) : new Map();
  const onPath = recording.layers.filter((l) => dep.has(l.output));
  const lrp = composite !== null && (LRP_PRESETS.has(composite.name) || onPath.some((l) => LRP_RULES.has(ruleFor(assignment, l)?.name ?? '')));
  const layers: CoverageLayer[] = [];
  const warnings: CoverageWarning[] = [];
  for (const l of onPath) {
    const rule = ruleFor(assignment, l);
    const key = keys.get(l)!;
    const w = lrp ? diagnose(l, l.inputs.filter((t) => dep.has(t)).length, rule !== null) : null;
    if (w) warnings.push({ key, ...w });
    const status: CoverageStatus = rule ? 'rule' : w?.severity === 'warning' ? 'uncovered' : 'gradient';
    layers.push({ index: l.index, key, name: l.name, type: l.type, kind: l.kind, rule: rule ? rule.name : null, status });
  }
  return {
    composite: composite ? composite.name : null,
    lrp,
    layers,
    withRule: layers.filter((l) => l.status === 'rule').map((l) => l.key),
    gradient: layers.filter((l) => l.status === 'gradient').map((l) => l.key),
    uncovered: layers.filter((l) => l.status === 'uncovered').map((l) => l.key),
    warnings,
    hiddenLayers: recording.layers.length - onPath.length,
  };
}
