/**
 * torchvision's ResNet (v1.5: the stride sits on the 3x3 convolution of Bottleneck), with the
 * stage widths configurable. Module and parameter names are torchvision's.
 *
 * Residual hook for canonizers: a block's `identity + out` goes through `block.residual(identity,
 * out)`, which defaults to the plain `add(out, identity)` (recorded as a functional `add` layer)
 * and consults `activeResidualOverride(block)` first. A ResNet canonizer builds a view without
 * mutating the model by running it inside `withOverrides(o, ...)` where
 * `o.residual.set(block, (identity, out) => sum.call(stack([identity, out], -1)))` and `sum` is a
 * `Sum` module named with `Module.attach(new Sum(), block, 'canonizer_sum')`.
 */
import { Tensor, add, flatten, type Rng } from '../engine/index.js';
import {
  Module, Sequential, Conv2d, BatchNorm2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Linear, activeResidualOverride, init,
  type LayerInit,
} from '../nn/index.js';

export type BlockType = 'BasicBlock' | 'Bottleneck';

/** torchvision's conv init: kaiming_normal_(mode='fan_out', nonlinearity='relu'), no bias. */
function conv(inC: number, outC: number, k: number, stride: number, padding: number, o: LayerInit): Conv2d {
  return new Conv2d(inC, outC, k, {
    stride,
    padding,
    bias: false,
    ...o,
    weightInit: (shape, io) => init.kaimingNormal(shape, { ...io, mode: 'fan_out', nonlinearity: 'relu' }),
  });
}

const conv3x3 = (i: number, o: number, stride: number, opts: LayerInit): Conv2d => conv(i, o, 3, stride, 1, opts);
const conv1x1 = (i: number, o: number, stride: number, opts: LayerInit): Conv2d => conv(i, o, 1, stride, 0, opts);

/** What BasicBlock and Bottleneck share: the downsample branch and the overridable residual step. */
export abstract class ResidualBlock extends Module {
  abstract readonly downsample: Module | null;

  /** `out + identity`; a view may replace it per block (see the file comment). */
  residual(identity: Tensor, out: Tensor): Tensor {
    const ov = activeResidualOverride(this);
    return ov ? ov(identity, out, this) : add(out, identity);
  }
}

export class BasicBlock extends ResidualBlock {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  /** One ReLU module applied twice, as torchvision. */
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Module | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Module | null = null, o: LayerInit = {}) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, stride, o));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes, o));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, 1, o));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes, o));
    this.downsample = this.registerModule('downsample', downsample);
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(this.residual(identity, out));
  }
}

export class Bottleneck extends ResidualBlock {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Module | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Module | null = null, o: LayerInit = {}) {
    super();
    const width = planes;
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, width, 1, o));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width, o));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride, o));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width, o));
    this.conv3 = this.registerModule('conv3', conv1x1(width, planes * Bottleneck.expansion, 1, o));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion, o));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = this.registerModule('downsample', downsample);
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(this.residual(identity, out));
  }
}

export interface ResNetOptions extends LayerInit {
  block: BlockType;
  /** Blocks per stage. */
  layers: readonly [number, number, number, number];
  /** Stage widths (torchvision: 64, 128, 256, 512); the stem has planes[0] channels. */
  planes?: readonly [number, number, number, number];
  numClasses?: number;
  inChannels?: number;
  /** torchvision's zero_init_residual: the last BN of every block starts at weight 0. */
  zeroInitResidual?: boolean;
}

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  readonly blockType: BlockType;

  constructor(opts: ResNetOptions) {
    super();
    const planes = opts.planes ?? [64, 128, 256, 512];
    const o: LayerInit = { ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.rng ? { rng: opts.rng } : {}), ...(opts.init ? { init: opts.init } : {}) };
    if (opts.block !== 'BasicBlock' && opts.block !== 'Bottleneck') throw new Error(`ResNet: unknown block '${String(opts.block)}' (BasicBlock or Bottleneck)`);
    this.blockType = opts.block;
    const expansion = opts.block === 'Bottleneck' ? Bottleneck.expansion : BasicBlock.expansion;
    let inplanes = planes[0];
    this.conv1 = this.registerModule('conv1', conv(opts.inChannels ?? 3, inplanes, 7, 2, 3, o));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inplanes, o));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    const makeLayer = (p: number, blocks: number, stride: number): Sequential => {
      let downsample: Module | null = null;
      if (stride !== 1 || inplanes !== p * expansion) {
        downsample = new Sequential(conv1x1(inplanes, p * expansion, stride, o), new BatchNorm2d(p * expansion, o));
      }
      const make = (i: number, pl: number, s: number, d: Module | null): Module =>
        opts.block === 'Bottleneck' ? new Bottleneck(i, pl, s, d, o) : new BasicBlock(i, pl, s, d, o);
      const seq = new Sequential(make(inplanes, p, stride, downsample));
      inplanes = p * expansion;
      for (let b = 1; b < blocks; b++) seq.append(make(inplanes, p, 1, null));
      return seq;
    };
    this.layer1 = this.registerModule('layer1', makeLayer(planes[0], opts.layers[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(planes[1], opts.layers[1], 2));
    this.layer3 = this.registerModule('layer3', makeLayer(planes[2], opts.layers[2], 2));
    this.layer4 = this.registerModule('layer4', makeLayer(planes[3], opts.layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(planes[3] * expansion, opts.numClasses ?? 1000, o));
    if (opts.zeroInitResidual) {
      for (const m of this.modules()) {
        const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
        if (last) last.registerParameter('weight', init.constant([last.numFeatures], 0, o));
      }
    }
  }

  /** The residual blocks in execution order. */
  blocks(): ResidualBlock[] {
    return this.modules().filter((m): m is ResidualBlock => m instanceof ResidualBlock);
  }

  override forward(x: Tensor): Tensor {
    let y = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    y = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(y))));
    // torchvision flattens with the functional torch.flatten (an op-level layer here).
    return this.fc.call(flatten(this.avgpool.call(y), 1));
  }
}

export interface BuilderOptions extends LayerInit {
  numClasses?: number;
  zeroInitResidual?: boolean;
  rng?: Rng;
}

export const resnet18 = (o: BuilderOptions = {}): ResNet => new ResNet({ ...o, block: 'BasicBlock', layers: [2, 2, 2, 2] });
export const resnet34 = (o: BuilderOptions = {}): ResNet => new ResNet({ ...o, block: 'BasicBlock', layers: [3, 4, 6, 3] });
export const resnet50 = (o: BuilderOptions = {}): ResNet => new ResNet({ ...o, block: 'Bottleneck', layers: [3, 4, 6, 3] });
export const resnet101 = (o: BuilderOptions = {}): ResNet => new ResNet({ ...o, block: 'Bottleneck', layers: [3, 4, 23, 3] });
export const resnet152 = (o: BuilderOptions = {}): ResNet => new ResNet({ ...o, block: 'Bottleneck', layers: [3, 8, 36, 3] });
