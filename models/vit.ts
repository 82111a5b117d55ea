/**
 * Transformers with timm's module names and layout: `VisionTransformer` (patch embedding, class
 * token, position embedding, pre-norm blocks, `norm` or `fc_norm`, `head`) and the token-input
 * `Transformer` of the reference cases. Blocks and attention are containers: their functional ops
 * (the two matmuls, the scaling, the mask, softmax, the residual adds, the pooling mean) become
 * layers of kind `op:<name>`, where the AttnLRP rules attach.
 */
import {
  Tensor, ShapeError, add, causalMask, concat, expand, matmul, mean, mul, permute, reshape, slice, softmax, transpose,
  where, flatten, zeros,
} from '../engine/index.js';
import { Module, Sequential, Linear, Conv2d, LayerNorm, GELU, Identity, StateDictError, type WeightInit as LayerInit, type LoadResult, type StateDictLike } from '../nn/index.js';
import { ArgumentError } from '../engine/errors.js';
import { fromTorchvisionVit, isTorchvisionVitLayout } from './vit-torchvision.js';

export interface BlockOptions extends LayerInit {
  dim: number;
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  layerNormEps?: number;
  causal?: boolean;
}

function checkHeads(dim: number, numHeads: number): void {
  if (!Number.isInteger(numHeads) || numHeads < 1) throw new ArgumentError(`transformer: num_heads must be a positive integer, got ${numHeads}`);
  if (dim % numHeads !== 0) throw new ArgumentError(`transformer: num_heads ${numHeads} does not divide embed_dim ${dim} (each head needs an equal width)`);
}

/** timm's Attention: qkv Linear, per-head softmax(q k^T / sqrt(d)) v, proj Linear. */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  readonly causal: boolean;
  constructor(
    readonly dim: number,
    readonly numHeads: number,
    opts: LayerInit & { qkvBias?: boolean; causal?: boolean } = {},
  ) {
    super();
    this.causal = opts.causal ?? false;
    checkHeads(dim, numHeads);
    this.headDim = dim / numHeads;
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { ...opts, bias: opts.qkvBias ?? true }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, opts));
  }
  override forward(u: Tensor): Tensor {
    if (u.ndim !== 3 || u.shape[2] !== this.dim) throw new ShapeError(`${this.fullName || 'Attention'}: expected input [B, T, ${this.dim}], got [${u.shape.join(', ')}]`);
    const [B, T] = u.shape as [number, number];
    const H = this.numHeads;
    const d = this.headDim;
    const qkv = permute(reshape(this.qkv.call(u), [B, T, 3, H, d]), [2, 0, 3, 1, 4]);
    const part = (i: number): Tensor => reshape(slice(qkv, [[i, i + 1]]), [B, H, T, d]);
    const q = part(0);
    const k = part(1);
    const v = part(2);
    let logits = mul(matmul(q, k, { transB: true }), 1 / Math.sqrt(d));
    if (this.causal) logits = where(causalMask(T, logits), logits, -Infinity);
    const o = matmul(softmax(logits, -1), v);
    return this.proj.call(reshape(transpose(o, 1, 2), [B, T, this.dim]));
  }
}

/** timm's Mlp: fc1, exact GELU, fc2. */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number, opts: LayerInit = {}) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden, opts));
    this.act = this.registerModule('act', new GELU());
    this.fc2 = this.registerModule('fc2', new Linear(hidden, dim, opts));
  }
  override forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

/** Pre-norm block: t + attn(norm1(t)), then t + mlp(norm2(t)). */
export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  constructor(o: BlockOptions) {
    super();
    const eps = o.layerNormEps ?? 1e-6;
    this.norm1 = this.registerModule('norm1', new LayerNorm(o.dim, eps, o));
    this.attn = this.registerModule('attn', new Attention(o.dim, o.numHeads, o));
    this.norm2 = this.registerModule('norm2', new LayerNorm(o.dim, eps, o));
    this.mlp = this.registerModule('mlp', new Mlp(o.dim, Math.floor(o.dim * (o.mlpRatio ?? 4)), o));
  }
  override forward(t: Tensor): Tensor {
    const a = add(t, this.attn.call(this.norm1.call(t)));
    return add(a, this.mlp.call(this.norm2.call(a)));
  }
}

function blocks(depth: number, o: BlockOptions): Sequential {
  if (!Number.isInteger(depth) || depth < 0) throw new ArgumentError(`transformer: depth must be a non-negative integer, got ${depth}`);
  const s = new Sequential();
  for (let i = 0; i < depth; i++) s.append(new Block(o));
  return s;
}

/** t[:, i] as [B, D]. */
function token(t: Tensor, i: number): Tensor {
  const [B, , D] = t.shape as [number, number, number];
  return reshape(slice(t, [null, [i, i === -1 ? undefined : i + 1]]), [B, D]);
}

export interface VisionTransformerOptions extends LayerInit {
  imgSize: [number, number];
  patchSize: number;
  inChans?: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  numClasses: number;
  globalPool?: 'token' | 'avg';
  layerNormEps?: number;
}

/** The patch embedding: a Conv2d with kernel = stride = patch size (timm's `patch_embed.proj`). */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  constructor(inChans: number, dim: number, readonly patchSize: number, o: LayerInit) {
    super();
    this.proj = this.registerModule('proj', new Conv2d(inChans, dim, [patchSize, patchSize], { ...o, stride: patchSize }));
  }
  override forward(x: Tensor): Tensor {
    return transpose(flatten(this.proj.call(x), 2), 1, 2);
  }
}

/** timm's ViT sizes by width (heads are not visible in a state dict). */
const TIMM_SIZES: Record<number, string> = { 192: 'ViT-Tiny (vit_tiny, 3 heads)', 384: 'ViT-Small (vit_small, 6 heads)', 768: 'ViT-Base (vit_base, 12 heads)', 1024: 'ViT-Large (vit_large, 16 heads)', 1280: 'ViT-Huge (vit_huge, 16 heads)' };

/** What a timm ViT state dict's shapes say about the model it came from. */
export function describeVitStateDict(dict: ReadonlyMap<string, Tensor>): string {
  const pw = dict.get('patch_embed.proj.weight');
  const pos = dict.get('pos_embed');
  const depth = new Set([...dict.keys()].filter((k) => k.startsWith('blocks.')).map((k) => k.split('.')[1])).size;
  const parts: string[] = [];
  const D = pw?.shape[0] ?? dict.get('cls_token')?.shape[2];
  if (D !== undefined) parts.push(`embed_dim ${D}`);
  parts.push(`depth ${depth}`);
  if (pw) parts.push(`patch_size ${pw.shape[2]}`, `in_chans ${pw.shape[1]}`);
  if (pos && pw) {
    const side = Math.sqrt(pos.shape[1]! - 1) * pw.shape[2]!;
    if (Number.isInteger(side)) parts.push(`img_size ${side}`);
  }
  const head = dict.get('head.weight');
  if (head) parts.push(`num_classes ${head.shape[0]}`);
  const name = D !== undefined ? TIMM_SIZES[D] : undefined;
  return `a ViT with ${parts.join(', ')}${name ? `: ${name}` : ''}`;
}

/** timm's VisionTransformer with a class token; pooling 'token' (norm, then t[:, 0]) or 'avg' (mean of the patch tokens, fc_norm). */
export class VisionTransformer extends Module {
  readonly patchEmbed: PatchEmbed;
  readonly blocks: Sequential;
  readonly norm: Module;
  readonly fcNorm: Module;
  readonly head: Linear;
  readonly numPatches: number;
  readonly globalPool: 'token' | 'avg';
  constructor(readonly opts: VisionTransformerOptions) {
    super();
    const { imgSize: [h, w], patchSize: p, embedDim: D } = opts;
    checkHeads(D, opts.numHeads);
    if (!Number.isInteger(p) || p < 1 || h % p !== 0 || w % p !== 0) throw new ArgumentError(`VisionTransformer: patch_size ${p} must divide img_size [${h}, ${w}]`);
    this.globalPool = opts.globalPool ?? 'token';
    if (this.globalPool !== 'token' && this.globalPool !== 'avg') throw new ArgumentError(`VisionTransformer: global_pool must be "token" or "avg", got ${JSON.stringify(opts.globalPool)}`);
    this.numPatches = (h / p) * (w / p);
    const dtype = opts.dtype ?? 'float32';
    const eps = opts.layerNormEps ?? 1e-6;
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed(opts.inChans ?? 3, D, p, opts));
    this.registerParameter('cls_token', zeros([1, 1, D], { dtype }));
    this.registerParameter('pos_embed', zeros([1, this.numPatches + 1, D], { dtype }));
    this.blocks = this.registerModule('blocks', blocks(opts.depth, { ...opts, dim: D, numHeads: opts.numHeads, layerNormEps: eps }));
    const tokenPool = this.globalPool === 'token';
    this.norm = this.registerModule('norm', tokenPool ? new LayerNorm(D, eps, opts) : new Identity());
    this.fcNorm = this.registerModule('fc_norm', tokenPool ? new Identity() : new LayerNorm(D, eps, opts));
    this.head = this.registerModule('head', new Linear(D, opts.numClasses, opts));
  }
  /** As Module's, but a state dict of another ViT size names its first mismatching tensor and the size it looks like. */
  override loadStateDict(dict: StateDictLike, opts: { strict?: boolean } = {}): LoadResult {
    let given: Map<string, Tensor> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    // torchvision's layout (vit_b_16, ...) is the same network under other names.
    const torchvision = isTorchvisionVitLayout(given.keys());
    if (torchvision) given = fromTorchvisionVit(given);
    const layout = torchvision ? " (renamed from torchvision's layout)" : '';
    for (const [name, own] of this.namedParameters()) {
      const t = given.get(name);
      if (t === undefined && !(opts.strict ?? true)) continue;
      const same = t !== undefined && t.ndim === own.ndim && t.shape.every((d, i) => d === own.shape[i]);
      if (same) continue;
      const what = t === undefined ? 'is missing' : `is [${t.shape.join(', ')}], this model's is [${own.shape.join(', ')}]`;
      throw new StateDictError(`VisionTransformer.loadStateDict: '${name}'${layout} ${what}; the state dict looks like ${describeVitStateDict(given)}, this model is ${describeVitStateDict(new Map(this.namedParameters()))}`, t === undefined ? [name] : [], [], t === undefined ? [] : [name]);
    }
    return super.loadStateDict(given, opts);
  }

  override forward(x: Tensor): Tensor {
    const [h, w] = this.opts.imgSize;
    const p = this.opts.patchSize;
    const C = this.opts.inChans ?? 3;
    if (x.ndim !== 4 || x.shape[1] !== C) throw new ShapeError(`VisionTransformer: expected input [B, ${C}, ${h}, ${w}], got [${x.shape.join(', ')}]`);
    const tokens = Math.floor(x.shape[2]! / p) * Math.floor(x.shape[3]! / p) + 1;
    if (tokens > this.numPatches + 1) {
      throw new ShapeError(
        `VisionTransformer: input [${x.shape.join(', ')}] makes ${tokens} tokens (${tokens - 1} patches of ${p}x${p} and the class token), longer than the position embedding pos_embed [1, ${this.numPatches + 1}, ${this.opts.embedDim}] (img_size [${h}, ${w}])`,
      );
    }
    if (x.shape[2] !== h || x.shape[3] !== w) throw new ShapeError(`VisionTransformer: expected input [B, ${C}, ${h}, ${w}] (img_size), got [${x.shape.join(', ')}]`);
    const B = x.shape[0]!;
    const D = this.opts.embedDim;
    const patches = this.patchEmbed.call(x);
    const cls = expand(this.getParameter('cls_token')!, [B, 1, D]);
    let t = add(concat([cls, patches], 1), this.getParameter('pos_embed')!);
    t = this.blocks.call(t);
    if (this.globalPool === 'token') return this.head.call(token(this.norm.call(t), 0));
    return this.head.call(this.fcNorm.call(mean(slice(t, [null, [1]]), [1])));
  }
}

/** torchvision's `vit_b_16` (224 x 224, patch 16, width 768, 12 blocks of 12 heads): loads timm's or torchvision's state dict. */
export function vit_b_16(o: LayerInit & { numClasses?: number } = {}): VisionTransformer {
  return new VisionTransformer({ ...o, imgSize: [224, 224], patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4, qkvBias: true, numClasses: o.numClasses ?? 1000, layerNormEps: 1e-6 });
}

export interface TransformerOptions extends LayerInit {
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  numClasses: number;
  pool?: 'last' | 'mean';
  causal?: boolean;
  layerNormEps?: number;
}

/** The reference cases' token-input transformer: blocks over input embeddings [B, T, D], norm, head on the last token or the mean. */
export class Transformer extends Module {
  readonly blocks: Sequential;
  readonly norm: LayerNorm;
  readonly head: Linear;
  readonly pool: 'last' | 'mean';
  constructor(readonly opts: TransformerOptions) {
    super();
    checkHeads(opts.embedDim, opts.numHeads);
    this.pool = opts.pool ?? 'last';
    if (this.pool !== 'last' && this.pool !== 'mean') throw new ArgumentError(`Transformer: pool must be "last" or "mean", got ${JSON.stringify(opts.pool)}`);
    const eps = opts.layerNormEps ?? 1e-6;
    this.blocks = this.registerModule('blocks', blocks(opts.depth, { ...opts, dim: opts.embedDim, layerNormEps: eps }));
    this.norm = this.registerModule('norm', new LayerNorm(opts.embedDim, eps, opts));
    this.head = this.registerModule('head', new Linear(opts.embedDim, opts.numClasses, opts));
  }
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.opts.embedDim) throw new ShapeError(`Transformer: expected input embeddings [B, T, ${this.opts.embedDim}], got [${x.shape.join(', ')}]`);
    const t = this.norm.call(this.blocks.call(x));
    return this.head.call(this.pool === 'last' ? token(t, -1) : mean(t, [1]));
  }
}
