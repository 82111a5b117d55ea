/**
 * What the page computes, without the DOM (so the specs can run it in Node): composites from the
 * page's fields, one traced explanation with its ledger and per-layer relevance, the canonizer
 * comparison. Everything goes through the library's public namespaces.
 */
import { attribution, canonizers, composites, diagnostics, engine, nn } from '../index.js';

type Tensor = engine.Tensor;
type Composite = composites.Composite;

export interface RuleParams {
  composite: string;
  epsilon: number;
  gamma: number;
  alpha: number;
  beta: number;
  low: number;
  high: number;
  stabilizer: number;
  /** zero_params: 'bias' leaves the bias out of every rule's modified parameters. */
  zeroBias: boolean;
}

export const DEFAULT_PARAMS: RuleParams = { composite: 'epsilon_gamma_box', epsilon: 1e-6, gamma: 0.25, alpha: 2, beta: 1, low: 0, high: 1, stabilizer: 1e-6, zeroBias: false };

/** The composites the page offers: every preset of the library. */
export const PRESETS: readonly string[] = composites.compositeNames.filter((n) => n !== 'layer_map');

/** Which fields each preset reads (alpha and beta: the presets with an AlphaBeta rule). */
export function fieldsOf(name: string): (keyof RuleParams)[] {
  const keys = composites.describeComposites().find((c) => c.name === name)?.keys ?? [];
  const f: (keyof RuleParams)[] = [];
  for (const k of ['epsilon', 'gamma', 'low', 'high', 'stabilizer'] as const) if (keys.includes(k)) f.push(k);
  if (name.includes('alpha2_beta1')) f.push('alpha', 'beta');
  if (keys.includes('zero_params')) f.push('zeroBias');
  return f;
}

/**
 * Field -> what is wrong, for the fields the chosen preset reads. The library accepts epsilon = 0
 * (it only divides by z + 0), but a zero denominator then gives NaN: the page asks for > 0.
 */
export function validate(p: RuleParams): Partial<Record<keyof RuleParams, string>> {
  const errors: Partial<Record<keyof RuleParams, string>> = {};
  const fields = fieldsOf(p.composite);
  const finite = (k: keyof RuleParams) => {
    const v = p[k] as number;
    if (!Number.isFinite(v)) errors[k] = `${k} must be a number, got ${String(v)}`;
    return Number.isFinite(v);
  };
  if (!PRESETS.includes(p.composite)) errors.composite = `unknown composite '${p.composite}'`;
  if (fields.includes('epsilon') && finite('epsilon') && !(p.epsilon > 0)) errors.epsilon = 'epsilon must be > 0: it keeps z + epsilon away from zero';
  if (fields.includes('stabilizer') && finite('stabilizer') && !(p.stabilizer > 0)) errors.stabilizer = 'the stabilizer must be > 0';
  if (fields.includes('gamma') && finite('gamma') && p.gamma < 0) errors.gamma = 'gamma must be >= 0 (gamma < 0 would favour negative contributions)';
  if (fields.includes('alpha') && finite('alpha') && finite('beta')) {
    if (p.beta < 0) errors.beta = 'beta must be >= 0';
    else if (Math.abs(p.alpha - p.beta - 1) > 1e-9) errors.alpha = `alpha - beta must be 1 (conservation), got ${p.alpha} - ${p.beta} = ${p.alpha - p.beta}`;
  }
  if (fields.includes('low') && finite('low') && finite('high') && !(p.low < p.high)) errors.low = `low must be < high, got low=${p.low}, high=${p.high}`;
  return errors;
}

/** The composite for valid fields (throws the library's error otherwise). */
export function buildComposite(p: RuleParams): Composite {
  const fields = fieldsOf(p.composite);
  const args: Record<string, unknown> = {};
  for (const k of ['epsilon', 'gamma', 'low', 'high', 'stabilizer'] as const) if (fields.includes(k)) args[k] = p[k];
  if (fields.includes('zeroBias') && p.zeroBias) args.zero_params = 'bias';
  // User entries go before the preset's own, as zennit does: this replaces AlphaBeta(2, 1) on convs.
  const layerMap = fields.includes('alpha')
    ? [['Convolution', { rule: 'AlphaBeta', alpha: p.alpha, beta: p.beta, stabilizer: p.stabilizer, ...(p.zeroBias ? { zero_params: 'bias' } : {}) }]]
    : undefined;
  return composites.compositeFromSpec({ name: p.composite, args, layer_map: layerMap });
}

export interface LayerView {
  index: number;
  key: string;
  type: string;
  kind: string;
  inputShapes: number[][];
  outputShape: number[];
  rule: string;
  /** The map entry that matched ('layer map: Convolution'), or why none did. */
  matched: string;
  /** Sum of the relevance arriving at the output / handed to the activation input. */
  relevanceOut: number;
  relevanceIn: number;
  /** The relevance arriving at the layer's output: [C, H, W] (a vector is [C, 1, 1]). */
  shape: [number, number, number];
  map: Float32Array;
}

export interface Explanation {
  composite: string;
  target: number;
  logits: number[];
  /** Relevance at the input, 8x8 row-major (float64 copy of the library's float32). */
  relevance: number[];
  layers: LayerView[];
  ledger: diagnostics.RelevanceLedger;
  coverage: diagnostics.Coverage;
  milliseconds: number;
}

const shape3 = (s: readonly number[]): [number, number, number] => (s.length === 4 ? [s[1]!, s[2]!, s[3]!] : [s[s.length - 1]!, 1, 1]);

/** One explanation of `x` ([1, 1, 8, 8]) through `view`, seeded with the one-hot of `target` (default: the predicted class). */
export function explain(view: attribution.Forward, x: Tensor, composite: Composite, target?: number): Explanation {
  const t0 = performance.now();
  const rec = attribution.recordForward(view, x);
  const logits = [...rec.output.data].map(Number);
  const cls = target ?? logits.indexOf(Math.max(...logits));
  const seed = attribution.oneHotSeed(rec.output, [cls]);
  const trace = diagnostics.traceExplanation(rec, seed, composite);
  const ledger = diagnostics.ledgerFromTrace(trace, composite);
  const coverage = diagnostics.ruleCoverage(rec, composite);
  const matches = composite instanceof composites.MapComposite ? composite.matches(rec.recording) : new Map<engine.LayerRecord, composites.MapMatch>();
  const mapName = { name: 'name map', first: 'first-layer map', layer: 'layer map' };
  const layers: LayerView[] = [];
  for (const [layer, lt] of trace.layers) {
    if (!trace.dependsOnInput.has(layer.output)) continue;
    const m = matches.get(layer);
    const activationIn = lt.relevanceIn.filter((r, i) => r && trace.dependsOnInput.has(layer.inputs[i]!) || (r && layer.inputs[i] === rec.input));
    layers.push({
      index: layer.index,
      key: trace.keys.get(layer) ?? layer.name,
      type: layer.type,
      kind: layer.kind,
      inputShapes: layer.inputs.map((i) => [...i.shape]),
      outputShape: [...layer.output.shape],
      rule: m ? m.rule.name : 'gradient',
      matched: m ? `${mapName[m.map]}: ${m.matcher}` : 'no entry matched: plain gradient',
      relevanceOut: diagnostics.total(lt.relevanceOut),
      relevanceIn: activationIn.reduce((s, r) => s + diagnostics.total(r!), 0),
      shape: shape3(layer.output.shape),
      map: Float32Array.from(lt.relevanceOut.data as Float32Array),
    });
  }
  layers.sort((a, b) => a.index - b.index);
  return {
    composite: composite.name,
    target: cls,
    logits,
    relevance: Array.from(trace.relevance.data as Float32Array),
    layers,
    ledger,
    coverage,
    milliseconds: performance.now() - t0,
  };
}

/** The model seen with its batch norm merged into the conv before it. */
export function canonized(model: nn.Module): canonizers.CanonizedModel {
  return canonizers.canonize(model, [canonizers.sequentialMergeBatchNorm()]);
}

/** A fingerprint of every parameter and buffer: equal before and after canonizing means the model was not touched. */
export function modelFingerprint(model: nn.Module): string {
  let h = 2166136261;
  for (const [name, t] of model.stateDict()) {
    for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (const b of bytes) h = Math.imul(h ^ b, 16777619);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export interface CanonizerComparison {
  layersBefore: string[];
  layersAfter: string[];
  /** Largest |difference| of the logits and of the plain input gradient: the merge is exact, both ~0. */
  logitDifference: number;
  gradientDifference: number;
  /** Largest |difference| of the LRP relevance: BatchNorm's Pass rule vs the merged conv's rule, not 0. */
  relevanceDifference: number;
  relevanceBefore: number[];
  relevanceAfter: number[];
  fingerprintBefore: string;
  fingerprintAfter: string;
}

export function compareCanonizer(model: nn.Module, x: Tensor, composite: Composite): CanonizerComparison {
  const fingerprintBefore = modelFingerprint(model);
  const view = canonized(model);
  const raw = attribution.recordForward(model, x);
  const merged = attribution.recordForward(view, x);
  const layerList = (r: attribution.RecordedForward) =>
    r.recording.layers.filter((l) => !l.kind.startsWith('op:')).map((l) => `${l.name || l.type} (${l.type})`);
  const logits = [...raw.output.data];
  const cls = logits.indexOf(Math.max(...logits));
  const seedRaw = attribution.oneHotSeed(raw.output, [cls]);
  const seedMerged = attribution.oneHotSeed(merged.output, [cls]);
  const maxDiff = (a: Tensor, b: Tensor) => {
    let m = 0;
    for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
    return m;
  };
  const before = raw.attribute(seedRaw, { composite }).relevance;
  const after = merged.attribute(seedMerged, { composite }).relevance;
  return {
    layersBefore: layerList(raw),
    layersAfter: layerList(merged),
    logitDifference: maxDiff(raw.output, merged.output),
    gradientDifference: maxDiff(raw.attribute(seedRaw).relevance, merged.attribute(seedMerged).relevance),
    relevanceDifference: maxDiff(before, after),
    relevanceBefore: Array.from(before.data, Number),
    relevanceAfter: Array.from(after.data, Number),
    fingerprintBefore,
    fingerprintAfter: modelFingerprint(model),
  };
}
