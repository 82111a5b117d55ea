/**
 * The rule resolver: how a composite's choice of rules becomes the per-layer backward that the
 * engine's `grad` calls (its `rules` option). `RecordedForward.attribute` and the diagnostics'
 * `traceExplanation` both build theirs here, so that a traced explanation is the explanation.
 */
import type * as E from '../engine/index.js';
import type { LayerRecord, Recording } from '../engine/index.js';
import type { Composite, RuleAssignment } from '../composites/index.js';
import { isPlainGradient, type Rule, type RuleContext } from '../rules/index.js';

/** The composite's rules for the layers of one recording (none: every layer keeps its plain gradient). */
export function assignRules(composite: Composite | null | undefined, recording: Recording): RuleAssignment {
  return composite ? composite.assign(recording) : new Map();
}

/** The rule a layer runs with: null for the plain gradient (no entry, or the null rule `gradientRule()`). */
export function ruleFor(assignment: RuleAssignment, layer: LayerRecord): Rule | null {
  const rule = assignment.get(layer);
  return isPlainGradient(rule) ? null : rule!;
}

export interface ResolverOptions {
  /** The context of one rule call (where it reports parameter relevance); default: none. */
  context?: (layer: LayerRecord) => RuleContext;
  /** What a layer without a rule runs; default: null, the engine's own recorded VJP. */
  plain?: (layer: LayerRecord) => E.LayerBackward | null;
}

export function ruleResolver(assignment: RuleAssignment, opts: ResolverOptions = {}): E.RuleResolver {
  const { context, plain } = opts;
  return (layer) => {
    const rule = ruleFor(assignment, layer);
    if (!rule) return plain ? plain(layer) : null;
    return (l, g) => rule.backward(l, g, context ? context(l) : {});
  };
}
