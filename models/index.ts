/** Model builders: torchvision's ResNet and VGG, and models from the reference cases' JSON spec. */
export {
  ResNet, ResidualBlock, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152,
  type BlockType, type ResNetOptions, type BuilderOptions,
} from './resnet.js';
export { VGG, VGG_CFGS, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn, type VGGConfig, type VGGOptions, type VGGBuilderOptions } from './vgg.js';
export { buildFromSpec, ModelSpecError, SPEC_TYPES, type ModelSpec } from './spec.js';
export {
  VisionTransformer, Transformer, vit_b_16, describeVitStateDict, Block, Attention, Mlp, PatchEmbed,
  type VisionTransformerOptions, type TransformerOptions, type BlockOptions,
} from './vit.js';
export { fromTorchvisionVit, timmNameOfTorchvisionVit, isTorchvisionVitLayout } from './vit-torchvision.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
export { findClass, type ClassLookup } from './class-names.js';
export { guessArchitecture } from './guess.js';
