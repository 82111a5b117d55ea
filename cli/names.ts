/** Names the CLI's help text needs, kept free of heavy imports so `--help` starts fast. */

/** Model builders `explain --model` knows (cli/explain.ts maps each to models/). */
export const BUILDER_NAMES = [
  'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152',
  'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn',
] as const;

export const ATTRIBUTORS = ['gradient', 'occlusion', 'integrated_gradients', 'smoothgrad'] as const;
