/**
 * torchvision's VisionTransformer (`vit_b_16`, ...) stores the same network as timm's under other
 * names: `class_token`, `conv_proj`, `encoder.pos_embedding`, `encoder.layers.encoder_layer_i.{ln_1,
 * self_attention.in_proj_*, self_attention.out_proj, ln_2, mlp.0, mlp.3}`, `encoder.ln`, `heads.head`.
 * `in_proj` stacks q, k, v in the order timm's `qkv` does, so the weights carry over unchanged.
 */
import type { Tensor } from '../engine/index.js';

const FIXED: Record<string, string> = {
  class_token: 'cls_token',
  'conv_proj.weight': 'patch_embed.proj.weight',
  'conv_proj.bias': 'patch_embed.proj.bias',
  'encoder.pos_embedding': 'pos_embed',
  'encoder.ln.weight': 'norm.weight',
  'encoder.ln.bias': 'norm.bias',
  'heads.head.weight': 'head.weight',
  'heads.head.bias': 'head.bias',
};

const IN_BLOCK: Record<string, string> = {
  'ln_1.weight': 'norm1.weight',
  'ln_1.bias': 'norm1.bias',
  'self_attention.in_proj_weight': 'attn.qkv.weight',
  'self_attention.in_proj_bias': 'attn.qkv.bias',
  'self_attention.out_proj.weight': 'attn.proj.weight',
  'self_attention.out_proj.bias': 'attn.proj.bias',
  'ln_2.weight': 'norm2.weight',
  'ln_2.bias': 'norm2.bias',
  'mlp.0.weight': 'mlp.fc1.weight',
  'mlp.0.bias': 'mlp.fc1.bias',
  'mlp.3.weight': 'mlp.fc2.weight',
  'mlp.3.bias': 'mlp.fc2.bias',
};

const BLOCK = /^encoder\.layers\.encoder_layer_(\d+)\.(.+)$/;

/** timm's name for a torchvision ViT parameter, or null when the name is not one of torchvision's. */
export function timmNameOfTorchvisionVit(name: string): string | null {
  if (Object.hasOwn(FIXED, name)) return FIXED[name]!;
  const m = BLOCK.exec(name);
  if (m && Object.hasOwn(IN_BLOCK, m[2]!)) return `blocks.${m[1]}.${IN_BLOCK[m[2]!]}`;
  return null;
}

/** Whether a state dict is in torchvision's ViT layout. */
export function isTorchvisionVitLayout(names: Iterable<string>): boolean {
  for (const n of names) if (n === 'class_token' || n === 'conv_proj.weight' || n === 'encoder.pos_embedding') return true;
  return false;
}

/** The state dict under timm's names; names torchvision does not have are kept, so a strict load reports them. */
export function fromTorchvisionVit(dict: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, t] of dict) out.set(timmNameOfTorchvisionVit(n) ?? n, t);
  return out;
}
