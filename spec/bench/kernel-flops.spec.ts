import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { countKernelFlops } from '../../bench/kernel-flops.js';

describe('bench/kernel-flops.ts', () => {
  for (const kernelSet of ['ts', 'wasm'] as const) {
    it(`counts 2*N*O*C*KH*KW*OH*OW per convolution and 2*M*N*K per matrix product, once each (${kernelSet} kernels)`, () => {
      const prev = E.getKernelBackend();
      E.setKernelBackend(kernelSet);
      try {
        const x = E.randn([2, 3, 9, 8], { rng: new E.Rng(1) });
        const w = E.randn([5, 3, 3, 2], { rng: new E.Rng(2) });
        const conv = countKernelFlops(() => E.conv2d(x, w, null, { stride: [2, 1], padding: 1 }));
        // OH = (9 + 2 - 3) / 2 + 1 = 5, OW = 8 + 2 - 2 + 1 = 9; the TypeScript convolution's GEMMs are not counted again.
        expect(conv).to.deep.equal({ conv: 2 * 2 * 5 * 3 * 3 * 2 * 5 * 9, gemm: 0 });
        const a = E.randn([7, 11], { rng: new E.Rng(3) });
        const b = E.randn([11, 13], { rng: new E.Rng(4) });
        expect(countKernelFlops(() => E.matmul(a, b))).to.deep.equal({ conv: 0, gemm: 2 * 7 * 13 * 11 });
        // The engine skips the convolution of an all-zero input: no kernel call, nothing counted.
        expect(countKernelFlops(() => E.conv2d(E.zerosLike(x), w))).to.deep.equal({ conv: 0, gemm: 0 });
      } finally {
        E.setKernelBackend(prev);
      }
    });
  }
});
