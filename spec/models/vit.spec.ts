import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import { ArgumentError, ShapeMismatchError } from '../../engine/index.js';
import { StateDictError, type Module } from '../../nn/index.js';
import { buildFromSpec, ModelSpecError, vit_b_16 } from '../../models/index.js';
import { loadCase } from '../../conformance/case.js';
import { attnLrp, cpLrp, compositeFromSpec } from '../../composites/index.js';
import { epsilonRule, ruleFromSpec, RuleConfigError } from '../../rules/index.js';
import { recordForward } from '../../attribution/index.js';
import { ledgerByBlock, ledgerByHead, relevanceLedger, traceExplanation } from '../../diagnostics/index.js';

const LXT = join(import.meta.dirname, '..', 'fixtures', 'lxt');

const vitSpec = (o: Record<string, unknown> = {}) => ({
  type: 'VisionTransformer', img_size: [8, 8], patch_size: 4, in_chans: 3, embed_dim: 8, depth: 1, num_heads: 2,
  mlp_ratio: 2, qkv_bias: true, num_classes: 3, global_pool: 'token', class_token: true, act_layer: 'GELU', layer_norm_eps: 1e-6, ...o,
});

function randomised(m: Module, seed: number): Module {
  const rng = new E.Rng(seed);
  const dict = new Map(m.namedParameters().map(([n, p]) => [n, E.mul(E.randn(p.shape, { dtype: 'float64', rng }), 0.5).detach()] as const));
  m.loadStateDict(dict);
  return m.eval();
}

describe('transformers', () => {
  it("VisionTransformer's parameters carry timm's names and shapes (those of a reference case's state dict)", () => {
    const c = loadCase(readFileSync(join(LXT, 'vit-attnlrp.safetensors')), 'vit-attnlrp');
    const model = buildFromSpec(c.spec.model, { dtype: 'float64' });
    const ours = model.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`).sort();
    const theirs = [...c.tensors].filter(([k]) => k.startsWith('param/')).map(([k, t]) => `${k.slice(6)} [${t.shape.join(', ')}]`).sort();
    expect(ours).to.deep.equal(theirs);
  });

  it("'avg' pooling has fc_norm and no norm, as timm", () => {
    const names = buildFromSpec(vitSpec({ global_pool: 'avg' })).namedParameters().map(([n]) => n);
    expect(names).to.include('fc_norm.weight');
    expect(names.some((n) => n.startsWith('norm.'))).to.equal(false);
  });

  it('a state dict of another ViT size names the first mismatching tensor and the size it looks like', () => {
    const small = buildFromSpec(vitSpec({ embed_dim: 12, num_heads: 3 }));
    const model = buildFromSpec(vitSpec());
    expect(() => model.loadStateDict(small.stateDict())).to.throw(StateDictError, /'cls_token' is \[1, 1, 12\], this model's is \[1, 1, 8\]; the state dict looks like a ViT with embed_dim 12, depth 1, patch_size 4/);
  });

  it('an image with more patches than the position embedding is one clear error', () => {
    const model = buildFromSpec(vitSpec()).eval();
    expect(() => model.call(E.zeros([1, 3, 12, 12]))).to.throw(ShapeMismatchError, /10 tokens .* longer than the position embedding pos_embed \[1, 5, 8\]/);
  });

  it('heads that do not divide the width, and a causal flag on a ViT, are rejected by name', () => {
    expect(() => buildFromSpec(vitSpec({ num_heads: 3 }))).to.throw(ArgumentError, /num_heads 3 does not divide embed_dim 8/);
    expect(() => buildFromSpec({ type: 'Transformer', embed_dim: 10, depth: 1, num_heads: 4, num_classes: 2 })).to.throw(ArgumentError, /does not divide/);
    expect(() => buildFromSpec(vitSpec({ causal: true }))).to.throw(ModelSpecError, /takes no causal mask/);
  });

  it("the Epsilon rule takes both stabiliser conventions: zennit's z + eps sign(z) and LXT's z + eps", () => {
    const model = randomised(buildFromSpec({ type: 'Transformer', embed_dim: 8, depth: 1, num_heads: 2, num_classes: 3 }, { dtype: 'float64' }), 3);
    const x = E.randn([1, 4, 8], { dtype: 'float64', rng: new E.Rng(4) });
    const rel = (signed: boolean) => {
      const rec = recordForward(model as never, x.detach().requireGrad());
      return rec.attribute(E.onesLike(rec.output), { composite: attnLrp({ layerMap: [['Dense', epsilonRule({ epsilon: 0.5, signed })]] }) }).relevance;
    };
    const a = rel(true);
    const b = rel(false);
    expect(Math.max(...Array.from(E.abs(E.sub(a, b)).data))).to.be.greaterThan(1e-3);
    expect(ruleFromSpec({ rule: 'Epsilon', epsilon: 0.5, signed: false }).settings.signed).to.equal(false);
    expect(() => ruleFromSpec({ rule: 'Epsilon', signed: 'no' })).to.throw(RuleConfigError, /signed/);
  });

  it('attnlrp and cp_lrp assign a rule to every op that changes relevance (no op falls back to its gradient)', () => {
    const model = randomised(buildFromSpec(vitSpec({ depth: 2, global_pool: 'avg' }), { dtype: 'float64' }), 5);
    const rec = recordForward(model as never, E.randn([2, 3, 8, 8], { dtype: 'float64', rng: new E.Rng(6) }).requireGrad());
    const plain = new Set(['op:reshape', 'op:permute', 'op:slice', 'op:expand', 'op:concat', 'op:where']);
    for (const comp of [attnLrp(), cpLrp(), compositeFromSpec({ name: 'attnlrp', args: { add_epsilon: 0 } })]) {
      const assigned = comp.assign(rec.recording);
      const bare = rec.recording.layers.filter((l) => !assigned.has(l) && !plain.has(l.kind)).map((l) => l.name);
      expect(bare, comp.name).to.deep.equal([]);
    }
    expect(() => compositeFromSpec({ name: 'attnlrp', args: { matmul_epsilon: -1 } })).to.throw(/matmul_epsilon/);
    expect(() => compositeFromSpec({ name: 'cp_lrp', args: { matmul_epsilon: 1e-8 } })).to.throw(/matmul_epsilon/);
  });

  it('the relevance ledger sums per block; functional ops carry the module that ran them', () => {
    const model = randomised(buildFromSpec(vitSpec({ depth: 2 }), { dtype: 'float64' }), 9);
    const rec = recordForward(model as never, E.randn([2, 3, 8, 8], { dtype: 'float64', rng: new E.Rng(10) }).requireGrad());
    const qk = rec.recording.layers.filter((l) => l.kind === 'op:matmul').map((l) => l.scope);
    expect(qk).to.deep.equal(['blocks.0.attn', 'blocks.0.attn', 'blocks.1.attn', 'blocks.1.attn']);
    const ledger = relevanceLedger(rec, E.mul(rec.output.detach(), E.onesLike(rec.output)), attnLrp());
    const blocks = ledgerByBlock(ledger, rec.recording);
    expect(blocks.map((b) => b.block)).to.deep.equal(['patch_embed', '(root)', 'blocks.0', 'blocks.1', 'norm', 'head']);
    const sum = blocks.reduce((a, b) => a + b.absorbed, 0);
    expect(sum).to.be.closeTo(ledger.totals.absorbed, 1e-12 * Math.max(1, Math.abs(ledger.totals.absorbed)));
    const b0 = ledger.rows.filter((r) => r.key.startsWith('blocks.0.')).reduce((a, r) => a + r.absorbed, 0);
    expect(blocks.find((b) => b.block === 'blocks.0')!.layers).to.be.greaterThan(ledger.rows.filter((r) => r.key.startsWith('blocks.0.')).length);
    expect(Math.abs(blocks.find((b) => b.block === 'blocks.0')!.absorbed - b0)).to.be.greaterThan(0);
  });

  it('a ledger row per attention head: what reaches each head and how it splits between values and weights', () => {
    const model = randomised(buildFromSpec(vitSpec({ depth: 2 }), { dtype: 'float64' }), 12);
    const rec = recordForward(model as never, E.randn([2, 3, 8, 8], { dtype: 'float64', rng: new E.Rng(13) }).requireGrad());
    const seed = E.mul(rec.output.detach(), E.onesLike(rec.output));
    const heads = ledgerByHead(traceExplanation(rec, seed, attnLrp()));
    expect(heads.map((h) => `${h.scope}/${h.head}`)).to.deep.equal(['blocks.0.attn/0', 'blocks.0.attn/1', 'blocks.1.attn/0', 'blocks.1.attn/1']);
    // The uniform rule gives both factors the same total, sum(C * R / (2C + eps)), half of what arrives up to the stabiliser.
    for (const h of heads) {
      expect(h.toValues + h.toWeights + h.absorbed).to.be.closeTo(h.arriving, 1e-12);
      expect(h.toValues).to.be.closeTo(h.toWeights, 1e-10 * Math.abs(h.arriving));
      expect(h.toValues).to.be.closeTo(h.arriving / 2, 1e-3 * Math.abs(h.arriving));
      expect(Math.abs(h.arriving)).to.be.greaterThan(0);
    }
    const cp = ledgerByHead(traceExplanation(rec, seed, cpLrp()));
    for (const h of cp) expect(h.toWeights).to.equal(0);
    expect(cp.some((h) => Math.abs(h.toValues) > 0)).to.equal(true);
  });

  it("a timm ViT loads torchvision's layout (renamed back from timm's names, same outputs)", () => {
    const src = randomised(buildFromSpec(vitSpec({ depth: 2 }), { dtype: 'float64' }), 7);
    // The renaming written out independently of models/vit-torchvision.ts.
    const toTorchvision = (n: string): string => {
      const b = /^blocks\.(\d+)\.(.+)$/.exec(n);
      if (b) {
        const local: Record<string, string> = { 'norm1.weight': 'ln_1.weight', 'norm1.bias': 'ln_1.bias', 'attn.qkv.weight': 'self_attention.in_proj_weight', 'attn.qkv.bias': 'self_attention.in_proj_bias', 'attn.proj.weight': 'self_attention.out_proj.weight', 'attn.proj.bias': 'self_attention.out_proj.bias', 'norm2.weight': 'ln_2.weight', 'norm2.bias': 'ln_2.bias', 'mlp.fc1.weight': 'mlp.0.weight', 'mlp.fc1.bias': 'mlp.0.bias', 'mlp.fc2.weight': 'mlp.3.weight', 'mlp.fc2.bias': 'mlp.3.bias' };
        return `encoder.layers.encoder_layer_${b[1]}.${local[b[2]!]}`;
      }
      const top: Record<string, string> = { cls_token: 'class_token', pos_embed: 'encoder.pos_embedding', 'patch_embed.proj.weight': 'conv_proj.weight', 'patch_embed.proj.bias': 'conv_proj.bias', 'norm.weight': 'encoder.ln.weight', 'norm.bias': 'encoder.ln.bias', 'head.weight': 'heads.head.weight', 'head.bias': 'heads.head.bias' };
      return top[n]!;
    };
    const tv = new Map(src.namedParameters().map(([n, p]) => [toTorchvision(n), p.detach()] as const));
    const dst = buildFromSpec(vitSpec({ depth: 2 }), { dtype: 'float64' });
    dst.loadStateDict(tv);
    dst.eval();
    const x = E.randn([2, 3, 8, 8], { dtype: 'float64', rng: new E.Rng(8) });
    expect(Array.from(dst.call(x).data)).to.deep.equal(Array.from(src.call(x).data));
    tv.set('class_token', E.zeros([1, 1, 12], { dtype: 'float64' }));
    expect(() => dst.loadStateDict(tv)).to.throw(StateDictError, /'cls_token' \(renamed from torchvision's layout\) is \[1, 1, 12\]/);
  });

  it("vit_b_16 loads a state dict of torchvision's 152 names and shapes (../shared/data; skipped where ../shared is absent, as in a fresh clone)", function () {
    const file = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'torchvision-vit_b_16-state-dict-shapes.json');
    if (!existsSync(file)) this.skip();
    const shapes = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number[]>;
    expect(Object.keys(shapes)).to.have.length(152);
    const zero = (s: readonly number[]) => E.zeros(s);
    const model = vit_b_16({ weightInit: zero, biasInit: zero });
    const dict = new Map(Object.entries(shapes).map(([n, s], i) => [n, E.full(s, i + 1)] as const));
    expect(model.loadStateDict(dict)).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
    const named = new Map(model.namedParameters());
    expect(named.size).to.equal(152);
    // Each tensor landed under its timm name: the fill value says which torchvision tensor it was.
    const order = Object.keys(shapes);
    expect(named.get('blocks.11.attn.qkv.weight')!.data[0]).to.equal(order.indexOf('encoder.layers.encoder_layer_11.self_attention.in_proj_weight') + 1);
    expect(named.get('head.bias')!.data[0]).to.equal(order.indexOf('heads.head.bias') + 1);
    expect(named.get('cls_token')!.data[0]).to.equal(order.indexOf('class_token') + 1);
  });
});
