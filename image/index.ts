/**
 * Heatmaps the way zennit draws them, image grids and overlays, resizing, torchvision's
 * preprocessing, PNG encoding and JPEG decoding, on plain typed arrays so nothing here depends on the tensor engine.
 */
export { ColorMap, ColorMapError, CMAPS, DEFAULT_CMAP, getColorMap, palette, parseColorMap, type ColorNode } from './cmap.js';
export {
  CENTER_INDEX,
  colorize,
  heatmap,
  normalizationBounds,
  paletteIndices,
  sumChannels,
  type HeatmapOptions,
  type NormalizeOptions,
  type Plane,
} from './heatmap.js';
export { grid, gridShape, overlay, type GridOptions, type OverlayOptions } from './compose.js';
export { resampleBilinear, resize, type ResizeMethod, type ResizeOptions } from './resize.js';
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  imageToTensorData,
  tensorDataToImage,
  type ToTensorOptions,
  type UnnormalizeOptions,
} from './convert.js';
export { encodePng, PngError } from './png.js';
export { decodeJpeg, sniffImageFormat, type ImageFormat } from './jpeg.js';
export {
  centerCrop,
  IMAGENET_PREPROCESS,
  preprocess,
  PREPROCESS_PRESETS,
  resizeAntialiased,
  resizeShorterSide,
  shorterSideSize,
  type Preprocess,
  type Preprocessed,
} from './preprocess.js';
export {
  checkImage,
  createImage,
  ImageError,
  toRgb,
  toRgba,
  type Image,
  type Rgb,
  type ShapedArray,
} from './types.js';
