/** Which torchvision architecture a state dict's names and shapes belong to, for error messages. */

const RESNET_BLOCKS: Record<string, [number[], boolean]> = {
  resnet18: [[2, 2, 2, 2], false],
  resnet34: [[3, 4, 6, 3], false],
  resnet50: [[3, 4, 6, 3], true],
  resnet101: [[3, 4, 23, 3], true],
  resnet152: [[3, 8, 36, 3], true],
};
const VGG_CONVS: Record<number, string> = { 8: 'vgg11', 10: 'vgg13', 13: 'vgg16', 16: 'vgg19' };

/**
 * The torchvision builder name (resnet18 ... vgg19_bn) whose state dict has these names, or null.
 * Only names and 4-D weights are read, so a fine-tuned head still matches its backbone.
 */
export function guessArchitecture(shapes: ReadonlyMap<string, readonly number[]>): string | null {
  const names = [...shapes.keys()];
  if (shapes.has('conv1.weight') && names.some((n) => n.startsWith('layer1.'))) {
    const blocks = [1, 2, 3, 4].map((l) => new Set(names.filter((n) => n.startsWith(`layer${l}.`)).map((n) => n.split('.')[1])).size);
    const bottleneck = names.some((n) => /^layer1\.0\.conv3\./.test(n));
    for (const [name, [want, bn]] of Object.entries(RESNET_BLOCKS)) {
      if (bn === bottleneck && want.every((b, i) => b === blocks[i])) return name;
    }
    return `a ResNet with ${bottleneck ? 'bottleneck' : 'basic'} blocks [${blocks.join(', ')}]`;
  }
  if (names.some((n) => n.startsWith('features.')) && names.some((n) => n.startsWith('classifier.'))) {
    const convs = names.filter((n) => /^features\.\d+\.weight$/.test(n) && shapes.get(n)!.length === 4).length;
    const bn = names.some((n) => /^features\.\d+\.running_mean$/.test(n));
    const base = VGG_CONVS[convs];
    return base ? `${base}${bn ? '_bn' : ''}` : `a VGG-like network with ${convs} convolutions`;
  }
  return null;
}
