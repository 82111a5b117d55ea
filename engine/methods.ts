/**
 * Fluent tensor methods (`x.mul(2).sum()`), each a thin call into the functional ops. Kept apart
 * from the Tensor class so that tensor.ts does not import every op.
 */
import { Tensor, type Shape } from './tensor.js';
import * as F from './ops/index.js';
import { backward, type GradOptions } from './grad.js';

declare module './tensor.js' {
  interface Tensor {
    add(o: F.TensorLike): Tensor;
    sub(o: F.TensorLike): Tensor;
    mul(o: F.TensorLike): Tensor;
    div(o: F.TensorLike): Tensor;
    pow(o: F.TensorLike): Tensor;
    maximum(o: F.TensorLike): Tensor;
    minimum(o: F.TensorLike): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    clamp(min?: F.TensorLike | null, max?: F.TensorLike | null): Tensor;
    gt(o: F.TensorLike): Tensor;
    ge(o: F.TensorLike): Tensor;
    lt(o: F.TensorLike): Tensor;
    le(o: F.TensorLike): Tensor;
    eq(o: F.TensorLike): Tensor;
    sum(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    max(axis: number, keepdim?: boolean): Tensor;
    argmax(axis: number, keepdim?: boolean): Tensor;
    reshape(shape: Shape): Tensor;
    view(shape: Shape): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis?: number): Tensor;
    expand(shape: Shape): Tensor;
    slice(spec: F.SliceSpec): Tensor;
    matmul(o: Tensor): Tensor;
    to(dtype: 'float32' | 'float64'): Tensor;
    backward(gradOutput?: Tensor, options?: Omit<GradOptions, 'gradOutputs' | 'allowUnused'>): void;
  }
}

const P = Tensor.prototype;
P.add = function (o) { return F.add(this, o); };
P.sub = function (o) { return F.sub(this, o); };
P.mul = function (o) { return F.mul(this, o); };
P.div = function (o) { return F.div(this, o); };
P.pow = function (o) { return typeof o === 'number' ? F.powScalar(this, o) : F.pow(this, o); };
P.maximum = function (o) { return F.maximum(this, o); };
P.minimum = function (o) { return F.minimum(this, o); };
P.neg = function () { return F.neg(this); };
P.abs = function () { return F.abs(this); };
P.sign = function () { return F.sign(this); };
P.exp = function () { return F.exp(this); };
P.log = function () { return F.log(this); };
P.sqrt = function () { return F.sqrt(this); };
P.tanh = function () { return F.tanh(this); };
P.sigmoid = function () { return F.sigmoid(this); };
P.relu = function () { return F.relu(this); };
P.clamp = function (min, max) { return F.clamp(this, min, max); };
P.gt = function (o) { return F.gt(this, o); };
P.ge = function (o) { return F.ge(this, o); };
P.lt = function (o) { return F.lt(this, o); };
P.le = function (o) { return F.le(this, o); };
P.eq = function (o) { return F.eq(this, o); };
P.sum = function (axes, keepdim) { return F.sum(this, axes, keepdim); };
P.mean = function (axes, keepdim) { return F.mean(this, axes, keepdim); };
P.max = function (axis, keepdim) { return F.max(this, axis, keepdim); };
P.argmax = function (axis, keepdim) { return F.argmax(this, axis, keepdim); };
P.reshape = function (shape) { return F.reshape(this, shape); };
P.view = function (shape) { return F.reshape(this, shape); };
P.flatten = function (s, e) { return F.flatten(this, s, e); };
P.permute = function (dims) { return F.permute(this, dims); };
P.transpose = function (a, b) { return F.transpose(this, a, b); };
P.unsqueeze = function (axis) { return F.unsqueeze(this, axis); };
P.squeeze = function (axis) { return F.squeeze(this, axis); };
P.expand = function (shape) { return F.expand(this, shape); };
P.slice = function (spec) { return F.slice(this, spec); };
P.matmul = function (o) { return F.matmul(this, o); };
P.to = function (dtype) { return F.cast(this, dtype); };
P.backward = function (gradOutput, options = {}) {
  backward(this, gradOutput ? { ...options, gradOutputs: gradOutput } : options);
};
