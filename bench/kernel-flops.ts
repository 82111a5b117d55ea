/**
 * The FLOPs a computation's convolution and GEMM kernels perform, counted at the dispatcher (for
 * bench/roofline.ts).
 */
import { kernels, type ConvGeometry } from '../engine/kernels/dispatch.js';

const convFlops = (g: ConvGeometry): number => 2 * g.N * g.O * (g.C / g.groups) * g.KH * g.KW * g.OH * g.OW;

/**
 * FLOPs of the convolutions and GEMMs that reach the dispatcher while `body` runs. A convolution
 * the TypeScript kernels lower to the dispatcher's GEMM is counted once, as a convolution.
 */
export function countKernelFlops(body: () => void): { conv: number; gemm: number } {
  const k = kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ['conv2dForward', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'gemm'] as const;
  const saved = names.map((n) => k[n]!);
  const counted = { conv: 0, gemm: 0 };
  let insideConv = 0;
  names.forEach((n, i) => {
    const original = saved[i]!;
    k[n] =
      n === 'gemm'
        ? (...args: unknown[]) => {
            if (insideConv === 0) counted.gemm += 2 * (args[2] as number) * (args[3] as number) * (args[4] as number);
            return original(...args);
          }
        : (...args: unknown[]) => {
            counted.conv += convFlops(args[3] as ConvGeometry);
            insideConv++;
            try {
              return original(...args);
            } finally {
              insideConv--;
            }
          };
  });
  try {
    body();
  } finally {
    names.forEach((n, i) => (k[n] = saved[i]!));
  }
  return counted;
}
