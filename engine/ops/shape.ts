import { Tensor, ShapeError, shapeStr, sizeOf, type Shape } from '../tensor.js';
import { apply, sameFloatDType, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import type { Window } from '../kernels/types.js';
import { emptyLike, normAxis } from './util.js';

export const reshapeOp: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  // Storage is shared: tensors are never written in place, so a reshaped view cannot change under anyone.
  forward: ([x], { shape }) => new Tensor(x!.data, shape),
  vjp: (g, { inputs: [x] }) => [reshape(g, x!.shape)],
};

/** Reshape; one dim may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const free = shape.length - known.length;
  if (free > 1) throw new ShapeError(`reshape: more than one -1 in ${shapeStr(shape)}`);
  const prod = sizeOf(known);
  const resolved = shape.map((d) => (d === -1 ? (prod === 0 ? 0 : x.size / prod) : d));
  if (sizeOf(resolved) !== x.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`);
  }
  if (resolved.length === x.ndim && resolved.every((d, i) => d === x.shape[i])) return x;
  return apply(reshapeOp, [x], { shape: resolved });
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis(startDim, x.ndim, 'flatten');
  const e = normAxis(endDim, x.ndim, 'flatten');
  if (e < s) throw new ShapeError(`flatten: end_dim ${endDim} before start_dim ${startDim}`);
  const mid = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.ndim + 1 : axis;
  if (a < 0 || a > x.ndim) throw new ShapeError(`unsqueeze: axis ${axis} out of range for ${x.ndim} dims`);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis(axis, x.ndim, 'squeeze');
  if (x.shape[a] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export const permuteOp: OpDef<{ dims: number[] }> = {
  name: 'permute',
  forward([x], { dims }) {
    const src = x!;
    const outShape = dims.map((d) => src.shape[d]!);
    const out = emptyLike(src, outShape);
    K.permute(src.data, src.shape, dims, out.data);
    return out;
  },
  vjp: (g, { attrs }) => {
    const inv = new Array<number>(attrs.dims.length);
    attrs.dims.forEach((d, i) => (inv[d] = i));
    return [permute(g, inv)];
  },
};

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) throw new ShapeError(`permute: ${dims.length} dims given for a tensor of ${x.ndim} dims`);
  const d = dims.map((a) => normAxis(a, x.ndim, 'permute'));
  if (new Set(d).size !== d.length) throw new ShapeError(`permute: [${dims.join(', ')}] is not a permutation`);
  if (d.every((a, i) => a === i)) return x;
  return apply(permuteOp, [x], { dims: d });
}

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = [...Array(x.ndim).keys()];
  const i = normAxis(a, x.ndim, 'transpose');
  const j = normAxis(b, x.ndim, 'transpose');
  dims[i] = j;
  dims[j] = i;
  return permute(x, dims);
}

export const sliceOp: OpDef<Window> = {
  name: 'slice',
  forward([x], w) {
    const out = emptyLike(x!, w.sizes);
    K.copyWindow(w, x!.data, out.data, true);
    return out;
  },
  vjp: (g, { attrs }) => [apply(embedOp, [g], attrs)],
};

/** Places a tensor into a strided window of a zero tensor (the adjoint of slice; also zero padding). */
export const embedOp: OpDef<Window> = {
  name: 'embed',
  forward([x], w) {
    const out = emptyLike(x!, w.full);
    K.copyWindow(w, x!.data, out.data, false);
    return out;
  },
  vjp: (g, { attrs }) => [apply(sliceOp, [g], attrs)],
};

export type SliceSpec = readonly (readonly [number?, number?, number?] | null | undefined)[];

/** Python-style slicing per axis: [start, stop, step] with negative indices and clipping; null keeps the axis whole. */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  if (spec.length > x.ndim) throw new ShapeError(`slice: ${spec.length} axes given for a tensor of ${x.ndim} dims`);
  const starts: number[] = [];
  const steps: number[] = [];
  const sizes: number[] = [];
  x.shape.forEach((dim, i) => {
    const s = spec[i];
    const step = s?.[2] ?? 1;
    if (!Number.isInteger(step) || step < 1) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
    const norm = (v: number | undefined, dflt: number): number => {
      if (v === undefined) return dflt;
      const a = v < 0 ? v + dim : v;
      return Math.min(Math.max(a, 0), dim);
    };
    const start = norm(s?.[0], 0);
    const stop = norm(s?.[1], dim);
    starts.push(start);
    steps.push(step);
    sizes.push(stop > start ? Math.ceil((stop - start) / step) : 0);
  });
  if (sizes.every((d, i) => d === x.shape[i])) return x;
  return apply(sliceOp, [x], { starts, steps, sizes, full: [...x.shape] });
}

/** Zero (constant) padding: `pads` lists [before, after] per axis from the first axis. */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  if (pads.length > x.ndim) throw new ShapeError(`pad: ${pads.length} axes given for a tensor of ${x.ndim} dims`);
  const starts = x.shape.map((_, i) => pads[i]?.[0] ?? 0);
  const full = x.shape.map((d, i) => d + (pads[i]?.[0] ?? 0) + (pads[i]?.[1] ?? 0));
  if (starts.some((s) => s < 0) || full.some((d, i) => d < x.shape[i]!)) throw new ShapeError('pad: negative padding is not supported; use slice');
  if (full.every((d, i) => d === x.shape[i])) return x;
  return apply(embedOp, [x], { starts, steps: x.shape.map(() => 1), sizes: [...x.shape], full });
}

export const concatOp: OpDef<{ axis: number }> = {
  name: 'concat',
  forward(inputs, { axis }) {
    sameFloatDType('concat', inputs);
    const first = inputs[0]!;
    const outShape = [...first.shape];
    outShape[axis] = inputs.reduce((n, t) => n + t.shape[axis]!, 0);
    const out = emptyLike(first, outShape);
    const inner = first.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = first.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const rowOut = outShape[axis]! * inner;
    let off = 0;
    for (const t of inputs) {
      const row = t.shape[axis]! * inner;
      K.concatRows(t.data, out.data, outer, row, rowOut, off);
      off += row;
    }
    return out;
  },
  vjp: (g, { inputs, attrs, needs }) => {
    let start = 0;
    return inputs.map((t, i) => {
      const spec: [number?, number?][] = g.shape.map(() => [undefined, undefined]);
      spec[attrs.axis] = [start, start + t.shape[attrs.axis]!];
      start += t.shape[attrs.axis]!;
      return needs[i] ? slice(g, spec) : null;
    });
  },
};

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: no tensors given');
  const first = tensors[0]!;
  const a = normAxis(axis, first.ndim, 'concat');
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${tensors.map((x) => shapeStr(x.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  if (tensors.length === 1) return first;
  return apply(concatOp, tensors, { axis: a });
}

export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: no tensors given');
  const nd = tensors[0]!.ndim + 1;
  const a = axis < 0 ? axis + nd : axis;
  for (const t of tensors) {
    if (t.ndim !== tensors[0]!.ndim || t.shape.some((d, i) => d !== tensors[0]!.shape[i])) {
      throw new ShapeError(`stack: shapes differ: ${tensors.map((x) => shapeStr(x.shape)).join(', ')}`);
    }
  }
  return concat(tensors.map((t) => unsqueeze(t, a)), a);
}

export const aliasOp: OpDef = {
  name: 'alias',
  forward: ([x]) => new Tensor(x!.data, x!.shape),
  vjp: (g) => [g],
};

/**
 * The same values as a new recorded tensor. Rules use it so that several terms built from one input
 * stay distinct targets of a VJP.
 */
export function alias(x: Tensor): Tensor {
  return apply(aliasOp, [x], {});
}
