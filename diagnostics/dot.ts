/**
 * The recorded graph as Graphviz DOT: one box per layer (name, type and kind, output shape, rule,
 * and the ledger's relevance when given), or every recorded node grouped in a cluster per layer;
 * layers are nested in clusters by module (`layer1` > `layer1.0`). Functional-op layers have no
 * module name; they go into the innermost module their consumers share (a residual `add` or a
 * canonizer's `stack` lands in its block). Layers that only compute on parameters (a canonizer's
 * batch-norm merge) are left out unless `parameterLayers` is set.
 *
 * Render with any Graphviz (`dot -Tsvg`), or in Node/the browser with @viz-js/viz (not a dependency:
 * the output is plain text); `ledgerSvg` draws the layer chain without any dependency.
 */
import type { LayerRecord, Node, Recording, Tensor } from '../engine/index.js';
import type { Composite, RuleAssignment } from '../composites/index.js';
import { ruleFor, type RecordedForward } from '../attribution/index.js';
import type { RelevanceLedger, LedgerRow } from './ledger.js';
import { ruleCoverage, type CoverageWarning } from './coverage.js';
import { dependentTensors, inferInputs, layerKeys } from './trace.js';
import { num } from './format.js';

export interface DotOptions {
  /** A composite (its assignment is shown, and layers it leaves uncovered are highlighted) or an assignment. */
  rules?: Composite | RuleAssignment;
  /** Show each layer's arriving and passed relevance. */
  ledger?: RelevanceLedger;
  /** The model input(s) when `target` is a bare Recording (inferred otherwise). */
  inputs?: readonly Tensor[];
  /** 'layers' (default): one box per layer; 'nodes': every recorded op, in a cluster per layer. */
  detail?: 'layers' | 'nodes';
  /** Also show layers (and nodes) that only compute on parameters. Default false. */
  parameterLayers?: boolean;
  /** Nest layers in clusters by module name. Default true. */
  clusters?: boolean;
  rankdir?: 'TB' | 'LR' | 'BT' | 'RL';
  /** The graph's name. */
  name?: string;
}

/** A DOT double-quoted string (backslashes and quotes escaped; '\n' becomes a centred line break). */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const shapeText = (t: Tensor): string => `[${t.shape.join(', ')}]`;

function isRecorded(x: RecordedForward | Recording): x is RecordedForward {
  return 'recording' in x && 'input' in x;
}

function isAssignment(x: Composite | RuleAssignment): x is RuleAssignment {
  return x instanceof Map;
}

interface Cluster {
  path: string;
  label: string;
  children: Map<string, Cluster>;
  items: string[];
}

function newCluster(path: string, label: string): Cluster {
  return { path, label, children: new Map(), items: [] };
}

/** The module path of a layer's parent ('' at the top). */
function parentPath(name: string): string[] {
  const parts = name.split('.');
  return parts.slice(0, -1);
}

function commonPrefix(paths: string[][]): string[] {
  if (!paths.length) return [];
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const p = paths[0]![i];
    if (p === undefined || !paths.every((q) => q[i] === p)) return out;
    out.push(p);
  }
}

/** Recorded graph -> DOT (see the file comment). */
export function toDot(target: RecordedForward | Recording, opts: DotOptions = {}): string {
  const recording = isRecorded(target) ? target.recording : target;
  const inputs = opts.inputs ?? (isRecorded(target) ? [target.input] : inferInputs(recording));
  const dep = dependentTensors(recording, inputs);
  const keys = layerKeys(recording);
  const showParams = opts.parameterLayers ?? false;
  const visible = (l: LayerRecord): boolean => showParams || dep.has(l.output);
  const layers = recording.layers.filter(visible);
  const visibleSet = new Set(layers);
  const assignment: RuleAssignment | null = opts.rules ? (isAssignment(opts.rules) ? opts.rules : opts.rules.assign(recording)) : null;
  const warnings = new Map<LayerRecord, CoverageWarning>();
  if (opts.rules && !isAssignment(opts.rules)) {
    const cov = ruleCoverage(recording, opts.rules, { inputs });
    const byKey = new Map([...keys].map(([l, k]) => [k, l]));
    for (const w of cov.warnings) if (w.severity === 'warning') warnings.set(byKey.get(w.key)!, w);
  }
  const rows = new Map<number, LedgerRow>((opts.ledger?.rows ?? []).map((r) => [r.index, r]));
  const producer = (t: Tensor): LayerRecord | null => (t.layer && t.layer.output === t && visibleSet.has(t.layer) ? t.layer : null);

  // Consumers of each layer's output, for placing functional ops into module clusters.
  const consumers = new Map<LayerRecord, LayerRecord[]>();
  for (const l of layers) {
    for (const t of [...l.inputs, ...Object.values(l.params)]) {
      const p = t ? producer(t) : null;
      if (p) consumers.set(p, [...(consumers.get(p) ?? []), l]);
    }
  }
  const placed = new Map<LayerRecord, string[]>();
  const placeOf = (l: LayerRecord, stack = new Set<LayerRecord>()): string[] => {
    const known = placed.get(l);
    if (known) return known;
    let path: string[];
    if (!l.kind.startsWith('op:')) {
      path = parentPath(l.name);
    } else {
      stack.add(l);
      const next = (consumers.get(l) ?? []).filter((c) => !stack.has(c));
      const around = next.length ? next : l.inputs.map(producer).filter((p): p is LayerRecord => p !== null && !stack.has(p));
      path = commonPrefix(around.map((c) => placeOf(c, stack)));
      stack.delete(l);
    }
    placed.set(l, path);
    return path;
  };

  const root = newCluster('', '');
  let clusterCount = 0;
  const clusterFor = (path: string[]): Cluster => {
    if (opts.clusters === false) return root;
    let c = root;
    for (let i = 0; i < path.length; i++) {
      const p = path.slice(0, i + 1).join('.');
      let child = c.children.get(p);
      if (!child) {
        child = newCluster(p, p);
        c.children.set(p, child);
      }
      c = child;
    }
    return c;
  };

  const edges: string[] = [];
  const header: string[] = [];
  const inputIds = new Map<Tensor, string>();
  inputs.forEach((t, i) => {
    const id = `input${i}`;
    inputIds.set(t, id);
    header.push(`${dotString(id)} [shape=ellipse, label=${dotString(`${inputs.length > 1 ? `input ${i}` : 'input'}\n${shapeText(t)}`)}];`);
  });
  const out = recording.outputs[0] ?? (recording.layers.length ? recording.layers[recording.layers.length - 1]!.output : null);
  if (out) header.push(`"output" [shape=ellipse, label=${dotString(`output\n${shapeText(out)}`)}];`);

  const layerLabel = (l: LayerRecord, withShape = true): string => {
    const rule = assignment ? ruleFor(assignment, l) : null;
    const lines = [keys.get(l) || '(root)', l.kind === `op:${l.type}` ? `op ${l.type}` : `${l.type} (${l.kind})`];
    if (withShape) lines.push(shapeText(l.output));
    if (assignment) lines.push(rule ? `rule: ${rule.name}` : 'gradient');
    const r = rows.get(l.index);
    if (r) lines.push(`R ${num(r.arriving)} -> ${num(r.passed)}${r.status === 'absorbed' || r.status === 'created' ? ` (${r.status === 'absorbed' ? 'lost' : 'created'}: ${r.cause})` : ''}`);
    const w = warnings.get(l);
    if (w) lines.push(`! ${w.code}`);
    return lines.join('\n');
  };
  const layerStyle = (l: LayerRecord): string => {
    const attrs: string[] = [];
    if (!dep.has(l.output)) attrs.push('style="rounded,dashed"', 'color="#888888"', 'fontcolor="#666666"');
    else if (warnings.has(l)) attrs.push('fillcolor="#f8d0cc"', 'color="#c0392b"');
    else if (assignment && ruleFor(assignment, l)) attrs.push('fillcolor="#dbe9f7"');
    return attrs.length ? `, ${attrs.join(', ')}` : '';
  };

  if ((opts.detail ?? 'layers') === 'layers') {
    for (const l of layers) {
      const id = `L${l.index}`;
      clusterFor(placeOf(l)).items.push(`${dotString(id)} [label=${dotString(layerLabel(l))}${layerStyle(l)}];`);
      l.inputs.forEach((t) => {
        const p = producer(t);
        if (p) edges.push(`${dotString(`L${p.index}`)} -> ${dotString(id)};`);
        else if (inputIds.has(t)) edges.push(`${dotString(inputIds.get(t)!)} -> ${dotString(id)};`);
      });
      if (showParams) {
        for (const [name, t] of Object.entries(l.params)) {
          const p = t ? producer(t) : null;
          if (p) edges.push(`${dotString(`L${p.index}`)} -> ${dotString(id)} [style=dashed, label=${dotString(name)}];`);
        }
      }
    }
    if (out?.layer && visibleSet.has(out.layer)) edges.push(`${dotString(`L${out.layer.index}`)} -> "output";`);
  } else {
    const allLayers = new Set(recording.layers);
    // A node belongs to the layer whose forward recorded it, or is the op of a functional layer.
    const nodeLayer = (n: Node): LayerRecord | null => {
      const l = n.scope ?? n.output.layer ?? null;
      return l && allLayers.has(l) ? l : null;
    };
    const included = recording.nodes.filter((n) => (showParams || dep.has(n.output)) && (nodeLayer(n) === null || visibleSet.has(nodeLayer(n)!)));
    const inc = new Set(included);
    const layerClusters = new Map<LayerRecord, Cluster>();
    for (const n of included) {
      const l = nodeLayer(n);
      let c = root;
      if (l) {
        c = layerClusters.get(l)!;
        if (!c) {
          const parent = clusterFor(placeOf(l));
          c = newCluster(`layer:${l.index}`, layerLabel(l, false));
          parent.children.set(c.path, c);
          layerClusters.set(l, c);
        }
      }
      const style = dep.has(n.output) ? '' : ', style="rounded,dashed", color="#888888"';
      c.items.push(`${dotString(`n${n.id}`)} [label=${dotString(`${n.op.name}\n${shapeText(n.output)}`)}${style}];`);
      for (const t of n.inputs) {
        if (t.node && inc.has(t.node)) edges.push(`${dotString(`n${t.node.id}`)} -> ${dotString(`n${n.id}`)};`);
        else if (inputIds.has(t)) edges.push(`${dotString(inputIds.get(t)!)} -> ${dotString(`n${n.id}`)};`);
      }
    }
    if (out?.node && inc.has(out.node)) edges.push(`${dotString(`n${out.node.id}`)} -> "output";`);
  }

  const lines: string[] = [];
  lines.push(`digraph ${dotString(opts.name ?? 'lrp_tape')} {`);
  lines.push(`  graph [rankdir=${opts.rankdir ?? 'TB'}, fontname="Helvetica", fontsize=11];`);
  lines.push('  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];');
  lines.push('  edge [fontname="Helvetica", fontsize=9];');
  for (const h of header) lines.push(`  ${h}`);
  const emit = (c: Cluster, indent: string): void => {
    for (const item of c.items) lines.push(`${indent}${item}`);
    for (const child of c.children.values()) {
      lines.push(`${indent}subgraph ${dotString(`cluster_${clusterCount++}`)} {`);
      lines.push(`${indent}  label=${dotString(child.label)};`);
      lines.push(`${indent}  style="rounded"; color="#999999";`);
      emit(child, `${indent}  `);
      lines.push(`${indent}}`);
    }
  };
  emit(root, '  ');
  for (const e of edges) lines.push(`  ${e}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
