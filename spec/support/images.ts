/** Small image helpers shared by the image and PNG specs. */
import { createImage, type Image } from '../../image/index.js';

/** The channel values of pixel (x, y). */
export const pixel = (img: Image, x: number, y: number): number[] => {
  const o = (y * img.width + x) * img.channels;
  return [...img.data.subarray(o, o + img.channels)];
};

/** A width x height RGB image whose pixel (x, y) is f(x, y). */
export const rgbImage = (width: number, height: number, f: (x: number, y: number) => [number, number, number]): Image => {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set(f(x, y), (y * width + x) * 3);
  return img;
};
