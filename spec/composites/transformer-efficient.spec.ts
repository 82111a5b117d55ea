/**
 * An independent check of the AttnLRP / CP-LRP rules on shapes the reference cases do not have: with
 * every epsilon zero they equal LXT's efficient variant, gradient x input through a forward with
 * stop-gradients (LayerNorm's std, GELU's Phi, CP-LRP's attention weights) and halved gradients
 * through products of two activations (FORMAT.md). That forward is written here with plain ops.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import type { Module } from '../../nn/index.js';
import { buildFromSpec } from '../../models/index.js';
import { compositeFromSpec } from '../../composites/index.js';
import { recordForward } from '../../attribution/index.js';

const sg = (t: Tensor): Tensor => t.detach();

/** A @ B with each factor's gradient halved: the uniform rule without epsilon. */
function halfProduct(a: Tensor, b: Tensor, transB = false): Tensor {
  return E.add(E.mul(E.matmul(a, sg(b), { transB }), 0.5), E.mul(E.matmul(sg(a), b, { transB }), 0.5));
}

function layerNormStopStd(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const c = E.sub(x, E.mean(x, [-1], true));
  return E.add(E.mul(E.div(c, sg(E.layerNormScale(x, eps))), w), b);
}

function efficientForward(p: Map<string, Tensor>, x: Tensor, o: { depth: number; heads: number; causal: boolean; pool: 'last' | 'mean'; cp: boolean }): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  const H = o.heads;
  const d = D / H;
  const P = (n: string): Tensor => p.get(n)!;
  let t = x;
  for (let i = 0; i < o.depth; i++) {
    const pre = `blocks.${i}.`;
    const u = layerNormStopStd(t, P(pre + 'norm1.weight'), P(pre + 'norm1.bias'), 1e-6);
    const qkv = E.permute(E.reshape(E.linear(u, P(pre + 'attn.qkv.weight'), P(pre + 'attn.qkv.bias')), [B, T, 3, H, d]), [2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((j) => E.reshape(E.slice(qkv, [[j, j + 1]]), [B, H, T, d])) as [Tensor, Tensor, Tensor];
    let logits = E.mul(halfProduct(q, k, true), 1 / Math.sqrt(d));
    if (o.causal) logits = E.where(E.causalMask(T, logits), logits, -Infinity);
    const a = E.softmax(logits, -1);
    const att = o.cp ? E.matmul(sg(a), v) : halfProduct(a, v);
    t = E.add(t, E.linear(E.reshape(E.transpose(att, 1, 2), [B, T, D]), P(pre + 'attn.proj.weight'), P(pre + 'attn.proj.bias')));
    const h = E.linear(layerNormStopStd(t, P(pre + 'norm2.weight'), P(pre + 'norm2.bias'), 1e-6), P(pre + 'mlp.fc1.weight'), P(pre + 'mlp.fc1.bias'));
    const phi = sg(E.mul(E.add(E.erf(E.mul(h, Math.SQRT1_2)), 1), 0.5));
    t = E.add(t, E.linear(E.mul(h, phi), P(pre + 'mlp.fc2.weight'), P(pre + 'mlp.fc2.bias')));
  }
  t = layerNormStopStd(t, P('norm.weight'), P('norm.bias'), 1e-6);
  const pooled = o.pool === 'last' ? E.reshape(E.slice(t, [null, [T - 1]]), [B, D]) : E.mean(t, [1]);
  return E.linear(pooled, P('head.weight'), P('head.bias'));
}

const ZERO = { linear_epsilon: 0, conv_epsilon: 0, layer_norm_epsilon: 0, add_epsilon: 0, mean_epsilon: 0 };

describe('AttnLRP and CP-LRP with zero epsilons equal gradient x input with stop-gradients (LXT efficient variant)', () => {
  const settings = [
    { depth: 2, heads: 3, causal: true, pool: 'last' as const, batch: 2, T: 5, D: 6 },
    { depth: 3, heads: 2, causal: false, pool: 'mean' as const, batch: 3, T: 4, D: 8 },
  ];
  for (const s of settings) {
    for (const cp of [false, true]) {
      it(`${cp ? 'cp_lrp' : 'attnlrp'}: depth ${s.depth}, ${s.heads} heads, ${s.causal ? 'causal' : 'no mask'}, pool ${s.pool}, batch ${s.batch}`, () => {
        const model: Module = buildFromSpec({ type: 'Transformer', embed_dim: s.D, depth: s.depth, num_heads: s.heads, mlp_ratio: 2, num_classes: 4, pool: s.pool, causal: s.causal, layer_norm_eps: 1e-6 }, { dtype: 'float64' });
        const rng = new E.Rng(11 + s.depth);
        model.loadStateDict(new Map(model.namedParameters().map(([n, p]) => [n, E.mul(E.randn(p.shape, { dtype: 'float64', rng }), 0.6).detach()] as const)));
        model.eval();
        const x = E.randn([s.batch, s.T, s.D], { dtype: 'float64', rng });
        const seed = E.randn([s.batch, 4], { dtype: 'float64', rng });
        const args = cp ? { ...ZERO, value_epsilon: 0 } : { ...ZERO, matmul_epsilon: 0 };
        const rec = recordForward(model as never, x.detach().requireGrad());
        // Gradient x input at the output is output * seed: the relevance the rules start from.
        const ours = rec.attribute(E.mul(rec.output.detach(), seed), { composite: compositeFromSpec({ name: cp ? 'cp_lrp' : 'attnlrp', args }) }).relevance;

        const xi = x.detach().requireGrad();
        const out = efficientForward(new Map(model.namedParameters()), xi, { depth: s.depth, heads: s.heads, causal: s.causal, pool: s.pool, cp });
        for (let i = 0; i < out.size; i++) expect(out.data[i]).to.be.closeTo(rec.output.data[i]!, 1e-12);
        const [g] = E.grad(E.sum(E.mul(out, seed)), [xi]);
        const want = E.mul(xi.detach(), g!);
        let scale = 0;
        let worst = 0;
        for (let i = 0; i < want.size; i++) {
          scale = Math.max(scale, Math.abs(want.data[i]!));
          worst = Math.max(worst, Math.abs(want.data[i]! - ours.data[i]!));
        }
        expect(scale).to.be.greaterThan(1e-3);
        expect(worst, `max |ours - efficient| = ${worst} of max ${scale}`).to.be.at.most(1e-9 * scale);
      });
    }
  }
});
