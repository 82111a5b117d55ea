import type { LayerRecord, Recording } from '../engine/index.js';
import type { Rule } from '../rules/index.js';

/**
 * Which layers a map entry applies to: a layer kind ('Convolution', 'Dense', 'Activation', 'AvgPool',
 * 'BatchNorm', 'Sum', 'MaxPool', ...), the group 'Linear' (Convolution or Dense, zennit's `Linear`), a
 * module class as 'type:ReLU', a functional op as 'op:add', or a predicate.
 */
export type LayerMatcher = string | ((layer: LayerRecord) => boolean);
export type LayerMapEntry = readonly [LayerMatcher, Rule];
export type LayerMap = readonly LayerMapEntry[];

export function matches(m: LayerMatcher, layer: LayerRecord): boolean {
  if (typeof m === 'function') return m(layer);
  if (m === 'Linear') return layer.kind === 'Convolution' || layer.kind === 'Dense';
  if (m.startsWith('type:')) return layer.type === m.slice(5);
  if (m.startsWith('op:')) return layer.kind === m;
  return layer.kind === m;
}

/** The rules chosen for the layers of one recording (layers without an entry keep the plain gradient). */
export type RuleAssignment = Map<LayerRecord, Rule>;

export interface Composite {
  readonly name: string;
  assign(recording: Recording): RuleAssignment;
}

export interface MapCompositeOptions {
  name?: string;
  layerMap?: LayerMap;
  /** Applied to the first layer (in execution order) that matches any entry: zennit's SpecialFirstLayerMapComposite. */
  firstMap?: LayerMap;
  /** Exact dotted layer names; tried before everything else. */
  nameMap?: readonly (readonly [string | readonly string[], Rule])[];
}

/**
 * Layer-type, first-layer and name maps in one composite: a layer takes the first rule found in
 * name map, then (for the first matching layer) first map, then layer map.
 */
export class MapComposite implements Composite {
  readonly name: string;
  constructor(private readonly opts: MapCompositeOptions) {
    this.name = opts.name ?? 'custom';
  }

  assign(recording: Recording): RuleAssignment {
    const out: RuleAssignment = new Map();
    for (const [layer, m] of this.matches(recording)) out.set(layer, m.rule);
    return out;
  }

  /** Which map entry gave each layer its rule (for teaching and diagnostics): the map and the entry's matcher. */
  matches(recording: Recording): Map<LayerRecord, MapMatch> {
    const out = new Map<LayerRecord, MapMatch>();
    let firstDone = false;
    for (const layer of recording.layers) {
      const byName = this.opts.nameMap?.find(([names]) => (typeof names === 'string' ? names === layer.name : names.includes(layer.name)));
      if (byName) {
        out.set(layer, { map: 'name', matcher: typeof byName[0] === 'string' ? byName[0] : byName[0].join(', '), rule: byName[1] });
        continue;
      }
      if (!firstDone && this.opts.firstMap?.length) {
        const first = this.opts.firstMap.find(([m]) => matches(m, layer));
        if (first) {
          firstDone = true;
          out.set(layer, { map: 'first', matcher: matcherText(first[0]), rule: first[1] });
          continue;
        }
      }
      const hit = this.opts.layerMap?.find(([m]) => matches(m, layer));
      if (hit) out.set(layer, { map: 'layer', matcher: matcherText(hit[0]), rule: hit[1] });
    }
    return out;
  }
}

export interface MapMatch {
  /** 'name': the name map; 'first': the first-layer map; 'layer': the layer-type map. */
  map: 'name' | 'first' | 'layer';
  /** The entry's layer type or name ('<function>' for a predicate). */
  matcher: string;
  rule: Rule;
}

function matcherText(m: LayerMatcher): string {
  return typeof m === 'string' ? m : '<function>';
}

/** The first composite that assigns a layer wins (zennit's MixedComposite). */
export class MixedComposite implements Composite {
  constructor(
    private readonly parts: readonly Composite[],
    readonly name = 'mixed',
  ) {}
  assign(recording: Recording): RuleAssignment {
    const out: RuleAssignment = new Map();
    for (const part of this.parts) {
      for (const [layer, rule] of part.assign(recording)) if (!out.has(layer)) out.set(layer, rule);
    }
    return out;
  }
}
