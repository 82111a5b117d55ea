/**
 * The gradient checks of every primitive op. The registry test fails when an OpDef exported by the
 * engine has no entry here, so a new op cannot land without first- and second-derivative checks.
 */
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';

export interface OpCheck {
  /** Primitive op names this check exercises. */
  covers: string[];
  make: (rng: E.Rng) => { fn: (...xs: Tensor[]) => Tensor; inputs: Tensor[] };
  /** Finite-difference settings, only where the check passes through float32 and needs a wider stencil. */
  options?: E.GradcheckOptions;
}

const f64 = { dtype: 'float64' as const };
const rnd = (rng: E.Rng, shape: number[]): Tensor => E.randn(shape, { ...f64, rng }).requireGrad();
/** Values bounded away from 0 so kinks and poles stay out of the finite-difference stencil. */
const awayFromZero = (rng: E.Rng, shape: number[], lo = 0.3): Tensor => {
  const t = E.randn(shape, { ...f64, rng });
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i]! || 1) * (lo + Math.abs(t.data[i]!));
  return t.requireGrad();
};
const positive = (rng: E.Rng, shape: number[]): Tensor => {
  const t = E.rand(shape, { ...f64, rng, low: 0.5, high: 2 });
  return t.requireGrad();
};

export const opChecks: Record<string, OpCheck> = {
  neg: { covers: ['neg'], make: (r) => ({ fn: (x) => E.neg(x!), inputs: [rnd(r, [3, 4])] }) },
  abs: { covers: ['abs'], make: (r) => ({ fn: (x) => E.mul(E.abs(x!), x!), inputs: [awayFromZero(r, [3, 4])] }) },
  exp: { covers: ['exp'], make: (r) => ({ fn: (x) => E.exp(x!), inputs: [rnd(r, [3, 4])] }) },
  log: { covers: ['log'], make: (r) => ({ fn: (x) => E.log(x!), inputs: [positive(r, [3, 4])] }) },
  sqrt: { covers: ['sqrt'], make: (r) => ({ fn: (x) => E.sqrt(x!), inputs: [positive(r, [3, 4])] }) },
  tanh: { covers: ['tanh'], make: (r) => ({ fn: (x) => E.tanh(x!), inputs: [rnd(r, [3, 4])] }) },
  sigmoid: { covers: ['sigmoid'], make: (r) => ({ fn: (x) => E.sigmoid(x!), inputs: [rnd(r, [3, 4])] }) },
  relu: { covers: ['relu'], make: (r) => ({ fn: (x) => E.mul(E.relu(x!), x!), inputs: [awayFromZero(r, [3, 4])] }) },
  leaky_relu: { covers: ['leaky_relu'], make: (r) => ({ fn: (x) => E.mul(E.leakyRelu(x!, 0.1), x!), inputs: [awayFromZero(r, [3, 4])] }) },
  pow_scalar: { covers: ['pow_scalar'], make: (r) => ({ fn: (x) => E.powScalar(x!, 3), inputs: [rnd(r, [3, 4])] }) },
  clamp: { covers: ['clamp'], make: (r) => ({ fn: (x) => E.mul(E.clamp(x!, -0.5, 0.5), x!), inputs: [awayFromZero(r, [3, 4], 0.05)] }) },
  // clamp's and relu's VJP: linear in g (x is a constant selector), checked as a map of g, on both sides of the bounds.
  pass_within: {
    covers: ['pass_within'],
    make: (r) => {
      const x = awayFromZero(r, [3, 4], 0.05).detach();
      return { fn: (g) => E.mul(E.passWithin(g!, x, -0.5, 0.5), g!), inputs: [rnd(r, [3, 4])] };
    },
  },
  pass_within_open: {
    covers: ['pass_within'],
    make: (r) => {
      const x = awayFromZero(r, [3, 4]).detach();
      return { fn: (g) => E.mul(E.passWithin(E.mul(g!, g!), x, 0, Infinity, true), g!), inputs: [rnd(r, [3, 4])] };
    },
  },
  add: { covers: ['add'], make: (r) => ({ fn: (a, b) => E.mul(E.add(a!, b!), E.add(a!, b!)), inputs: [rnd(r, [2, 3, 4]), rnd(r, [3, 1])] }) },
  sub: { covers: ['sub'], make: (r) => ({ fn: (a, b) => E.mul(E.sub(a!, b!), a!), inputs: [rnd(r, [2, 3]), rnd(r, [3])] }) },
  mul: { covers: ['mul'], make: (r) => ({ fn: (a, b) => E.mul(a!, b!), inputs: [rnd(r, [4, 1, 3]), rnd(r, [2, 3])] }) },
  div: { covers: ['div'], make: (r) => ({ fn: (a, b) => E.div(a!, b!), inputs: [rnd(r, [2, 3]), awayFromZero(r, [2, 1])] }) },
  pow: { covers: ['pow'], make: (r) => ({ fn: (a, b) => E.pow(a!, b!), inputs: [positive(r, [2, 3]), rnd(r, [2, 3])] }) },
  maximum: { covers: ['maximum'], make: (r) => ({ fn: (a, b) => E.mul(E.maximum(a!, b!), a!), inputs: [rnd(r, [3, 4]), rnd(r, [3, 4])] }) },
  minimum: { covers: ['minimum'], make: (r) => ({ fn: (a, b) => E.mul(E.minimum(a!, b!), b!), inputs: [rnd(r, [3, 4]), rnd(r, [4])] }) },
  where: {
    covers: ['where'],
    make: (r) => {
      const c = E.gt(E.randn([3, 4], { ...f64, rng: r }), 0);
      return { fn: (a, b) => E.mul(E.where(c, a!, b!), a!), inputs: [rnd(r, [3, 4]), rnd(r, [1, 4])] };
    },
  },
  // A round trip through float32 rounds at 1e-7 relative: the map is linear, so a wide stencil is exact up to that rounding.
  cast: { covers: ['cast'], make: (r) => ({ fn: (x) => E.cast(E.mul(E.cast(x!, 'float32'), 2), 'float64'), inputs: [rnd(r, [3])] }), options: { eps: 1e-2, atol: 1e-4 } },
  sum: { covers: ['sum'], make: (r) => ({ fn: (x) => E.mul(E.sum(x!, [0, 2], true), E.sum(x!, 1, true)), inputs: [rnd(r, [2, 3, 4])] }) },
  mean: { covers: ['mean'], make: (r) => ({ fn: (x) => E.powScalar(E.mean(x!, 1), 2), inputs: [rnd(r, [2, 5])] }) },
  mean_tokens: { covers: ['mean'], make: (r) => ({ fn: (x) => E.mul(E.mean(x!, [1], true), x!), inputs: [rnd(r, [2, 3, 4])] }) },
  expand: { covers: ['expand'], make: (r) => ({ fn: (x) => E.mul(E.expand(x!, [2, 3, 4]), E.expand(x!, [2, 3, 4])), inputs: [rnd(r, [3, 1])] }) },
  reshape: { covers: ['reshape'], make: (r) => ({ fn: (x) => E.mul(E.reshape(x!, [3, 4]), E.reshape(x!, [3, 4])), inputs: [rnd(r, [2, 6])] }) },
  permute: { covers: ['permute'], make: (r) => ({ fn: (x) => E.mul(E.permute(x!, [2, 0, 1]), 3), inputs: [rnd(r, [2, 3, 4])] }) },
  slice: {
    covers: ['slice'],
    make: (r) => ({ fn: (x) => { const s = E.slice(x!, [[1, undefined, 2], [-3, -1]]); return E.mul(s, s); }, inputs: [rnd(r, [5, 4])] }),
  },
  stabilized_div: {
    covers: ['stabilized_div'],
    make: (r) => ({ fn: (a, y) => E.mul(E.stabilizedDiv(a!, y!, 0.1), a!), inputs: [rnd(r, [3, 4]), awayFromZero(r, [3, 4])] }),
  },
  stabilize: { covers: ['stabilize'], make: (r) => ({ fn: (x) => E.mul(E.stabilizeShift(x!, 0.1), x!), inputs: [awayFromZero(r, [3, 4])] }) },
  alias: { covers: ['alias'], make: (r) => ({ fn: (x) => E.mul(E.alias(x!), x!), inputs: [rnd(r, [3])] }) },
  pad: { covers: ['embed'], make: (r) => ({ fn: (x) => { const p = E.pad(x!, [[1, 2], [0, 1]]); return E.mul(p, p); }, inputs: [rnd(r, [2, 3])] }) },
  concat: {
    covers: ['concat'],
    make: (r) => ({ fn: (a, b) => { const c = E.concat([a!, b!], 1); return E.mul(c, c); }, inputs: [rnd(r, [2, 3]), rnd(r, [2, 2])] }),
  },
  stack: { covers: ['concat', 'reshape'], make: (r) => ({ fn: (a, b) => E.powScalar(E.stack([a!, b!], -1), 2), inputs: [rnd(r, [2, 3]), rnd(r, [2, 3])] }) },
  matmul: { covers: ['matmul'], make: (r) => ({ fn: (a, b) => E.matmul(a!, b!), inputs: [rnd(r, [3, 4]), rnd(r, [4, 2])] }) },
  matmul_t: { covers: ['matmul'], make: (r) => ({ fn: (a, b) => E.matmul(a!, b!, { transA: true, transB: true }), inputs: [rnd(r, [4, 3]), rnd(r, [2, 4])] }) },
  matmul_batched: { covers: ['matmul'], make: (r) => ({ fn: (a, b) => E.matmul(a!, b!), inputs: [rnd(r, [2, 3, 4]), rnd(r, [2, 4, 2])] }) },
  matmul_shared: { covers: ['matmul'], make: (r) => ({ fn: (a, b) => E.matmul(a!, b!, { transB: true }), inputs: [rnd(r, [2, 3, 4]), rnd(r, [5, 4])] }) },
  linear: { covers: ['matmul', 'add'], make: (r) => ({ fn: (x, w, b) => E.linear(x!, w!, b!), inputs: [rnd(r, [3, 4]), rnd(r, [2, 4]), rnd(r, [2])] }) },
  conv2d: {
    covers: ['conv2d', 'conv2d_input_grad', 'conv2d_weight_grad'],
    make: (r) => ({ fn: (x, w, b) => E.conv2d(x!, w!, b!, { stride: [2, 1], padding: [1, 2], dilation: [1, 2] }), inputs: [rnd(r, [2, 2, 5, 6]), rnd(r, [3, 2, 3, 2]), rnd(r, [3])] }),
  },
  conv2d_groups: {
    covers: ['conv2d', 'conv2d_input_grad', 'conv2d_weight_grad'],
    make: (r) => ({ fn: (x, w) => E.conv2d(x!, w!, null, { padding: 1, groups: 2 }), inputs: [rnd(r, [1, 4, 4, 4]), rnd(r, [4, 2, 3, 3])] }),
  },
  conv_transpose2d: {
    covers: ['conv2d_input_grad', 'conv2d', 'conv2d_weight_grad'],
    make: (r) => ({ fn: (x, w) => E.convTranspose2d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1 }), inputs: [rnd(r, [1, 2, 3, 3]), rnd(r, [2, 3, 3, 3])] }),
  },
  conv2d_weight_grad: {
    covers: ['conv2d_weight_grad'],
    make: (r) => {
      // The filter gradient as a function of both its arguments: the op tfjs cannot differentiate.
      const fn = (x: Tensor, gy: Tensor): Tensor => {
        const w0 = E.zeros([3, 2, 3, 3], f64).requireGrad();
        const y = E.conv2d(x, w0, null, { padding: 1 });
        return E.grad(y, w0, { gradOutputs: gy, createGraph: true })[0]!;
      };
      return { fn: (x, gy) => fn(x!, gy!), inputs: [rnd(r, [1, 2, 4, 4]), rnd(r, [1, 3, 4, 4])] };
    },
  },
  max_pool2d: {
    covers: ['gather', 'scatter_add'],
    make: (r) => ({ fn: (x) => E.powScalar(E.maxPool2d(x!, 2, { stride: 2 }), 2), inputs: [rnd(r, [1, 2, 4, 6])] }),
  },
  max_pool2d_padded: {
    covers: ['gather', 'scatter_add'],
    make: (r) => ({ fn: (x) => E.powScalar(E.maxPool2d(x!, 3, { stride: 2, padding: 1 }), 2), inputs: [rnd(r, [1, 1, 5, 5])] }),
  },
  avg_pool2d: {
    covers: ['avg_pool2d', 'avg_pool2d_transpose'],
    make: (r) => ({ fn: (x) => E.powScalar(E.avgPool2d(x!, 3, { stride: 2, padding: 1 }), 2), inputs: [rnd(r, [1, 2, 5, 5])] }),
  },
  adaptive_avg_pool2d: {
    covers: ['avg_pool2d', 'avg_pool2d_transpose'],
    make: (r) => ({ fn: (x) => E.powScalar(E.adaptiveAvgPool2d(x!, [2, 3]), 2), inputs: [rnd(r, [1, 2, 5, 7])] }),
  },
  max: { covers: ['sum', 'mul'], make: (r) => ({ fn: (x) => E.powScalar(E.max(x!, 1), 2), inputs: [rnd(r, [3, 4])] }) },
  softplus: { covers: ['relu', 'abs', 'exp', 'log'], make: (r) => ({ fn: (x) => E.softplus(x!), inputs: [awayFromZero(r, [3, 4])] }) },
  softmax: { covers: ['softmax'], make: (r) => ({ fn: (x) => E.softmax(x!, 1), inputs: [rnd(r, [2, 4])] }) },
  softmax_inner_axis: { covers: ['softmax'], make: (r) => ({ fn: (x) => E.mul(E.softmax(x!, 1), x!), inputs: [rnd(r, [2, 3, 4])] }) },
  // Masked logits are -inf; the check differentiates w.r.t. the unmasked ones through `where`.
  softmax_masked: {
    covers: ['softmax', 'where'],
    make: (r) => {
      const keep = E.causalMask(4, E.zeros([1], f64));
      return { fn: (x) => E.mul(E.softmax(E.where(keep, x!, -Infinity), -1), x!), inputs: [rnd(r, [2, 4, 4])] };
    },
  },
  erf: { covers: ['erf'], make: (r) => ({ fn: (x) => E.erf(E.mul(x!, 2)), inputs: [rnd(r, [3, 4])] }) },
  gelu: { covers: ['gelu'], make: (r) => ({ fn: (x) => E.gelu(E.mul(x!, 2)), inputs: [rnd(r, [3, 4])] }) },
  layer_norm: {
    covers: ['mean', 'sub', 'mul', 'sqrt', 'div', 'add'],
    make: (r) => ({ fn: (x, w, b) => E.layerNorm(x!, w!, b!, 1e-6), inputs: [rnd(r, [2, 3, 5]), rnd(r, [5]), rnd(r, [5])] }),
  },
  matmul_heads: { covers: ['matmul'], make: (r) => ({ fn: (a, b) => E.matmul(a!, b!, { transB: true }), inputs: [rnd(r, [2, 2, 3, 4]), rnd(r, [2, 2, 5, 4])] }) },
  transpose_tokens: { covers: ['permute', 'reshape'], make: (r) => ({ fn: (x) => E.powScalar(E.reshape(E.transpose(x!, 1, 2), [2, 3, 8]), 2), inputs: [rnd(r, [2, 2, 3, 4])] }) },
  concat_tokens: {
    covers: ['concat', 'expand'],
    make: (r) => ({ fn: (c, t) => E.powScalar(E.concat([E.expand(c!, [2, 1, 3]), t!], 1), 2), inputs: [rnd(r, [1, 1, 3]), rnd(r, [2, 4, 3])] }),
  },
  attention: {
    covers: ['matmul', 'softmax', 'mul', 'where'],
    make: (r) => ({ fn: (q, k, v) => E.scaledDotProductAttention(q!, k!, v!), inputs: [rnd(r, [1, 2, 3, 4]), rnd(r, [1, 2, 3, 4]), rnd(r, [1, 2, 3, 4])] }),
  },
  attention_causal: {
    covers: ['matmul', 'softmax', 'mul', 'where'],
    make: (r) => ({ fn: (q, k, v) => E.scaledDotProductAttention(q!, k!, v!, { causal: true }), inputs: [rnd(r, [2, 1, 4, 3]), rnd(r, [2, 1, 4, 3]), rnd(r, [2, 1, 4, 3])] }),
  },
  log_softmax: { covers: ['log', 'exp'], make: (r) => ({ fn: (x) => E.logSoftmax(x!, -1), inputs: [rnd(r, [2, 4])] }) },
  cross_entropy: { covers: ['log', 'exp'], make: (r) => ({ fn: (x) => E.crossEntropy(x!, [1, 3]), inputs: [rnd(r, [2, 4])] }) },
  channel_affine: {
    covers: ['channel_affine'],
    make: (r) => ({ fn: (x, s, t) => E.mul(E.channelAffine(x!, s!, t!), x!), inputs: [rnd(r, [2, 3, 2, 2]), rnd(r, [3]), rnd(r, [3])] }),
  },
  batch_norm_eval: {
    covers: ['sqrt', 'div', 'mul', 'add', 'channel_affine'],
    make: (r) => {
      const rm = E.randn([3], { ...f64, rng: r });
      const rv = E.rand([3], { ...f64, rng: r, low: 0.5, high: 2 });
      return { fn: (x, w, b) => E.batchNorm(x!, rm, rv, w!, b!, { training: false }).output, inputs: [rnd(r, [2, 3, 2, 2]), rnd(r, [3]), rnd(r, [3])] };
    },
  },
  batch_norm_train: {
    covers: ['sqrt', 'div', 'mul', 'add', 'sub', 'sum'],
    make: (r) => ({ fn: (x, w, b) => E.batchNorm(x!, null, null, w!, b!, { training: true }).output, inputs: [rnd(r, [3, 2, 2, 2]), rnd(r, [2]), rnd(r, [2])] }),
  },
};
