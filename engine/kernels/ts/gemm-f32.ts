/**
 * Packed, cache-blocked GEMM for Float32Array. gemm-f64.ts is generated from this file by
 * scripts/gemm-codegen.ts (a spec checks that the two stay in sync): V8 specialises optimised
 * code on the typed-array kind it has seen, so one shared function called with both dtypes
 * would turn every element access in the micro-kernel polymorphic.
 *
 * Scheme (Goto/BLIS): op(B) is packed per KC x NC block into NR-wide slivers, op(A) per MC x KC
 * block into MR-tall slivers; both are zero-padded to full slivers, so the micro-kernel never
 * branches on edges and the packing step is the only place that knows about transposes or
 * leading dimensions. Accumulation happens in doubles (JS numbers) over a whole KC slice, which
 * for float32 is also more accurate than rounding after every product.
 */

/** Micro-tile 4x4: 16 accumulators plus 8 operands is about what V8 keeps in xmm registers. */
const MR = 4;
const NR = 4;
/** A 256-deep sliver of B (4-8 KB) stays in L1 while the A block streams from L2. */
const KC = 256;
/** Elements of packed A per block: keeps the block in L2 also for f64 and when K is short. */
const A_BLOCK = 128 * 256;
/** Columns of B packed at once; bounds the packed-B scratch to a few MB. */
const NC = 4096;

let packA = new Float32Array(0);
let packB = new Float32Array(0);
/** Spill tile for partial edge tiles. */
const edge = new Float64Array(MR * NR);

/**
 * C[M,N] += op(A)[M,K] * op(B)[K,N] with leading dimensions (row strides) lda, ldb, ldc of the
 * stored matrices. Always accumulates; the caller zeroes C when it wants an overwrite.
 */
export function gemmPackedF32(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  aOff: number,
  lda: number,
  B: Float32Array,
  bOff: number,
  ldb: number,
  C: Float32Array,
  cOff: number,
  ldc: number,
): void {
  if (M <= 0 || N <= 0 || K <= 0) return;
  // Equal K slices (576 -> 3 x 192, not 256 + 256 + 64) keep every slice long enough to amortise the C updates.
  const kcMax = Math.ceil(K / Math.ceil(K / KC));
  const mcMax = Math.min(roundUp(Math.max(MR, Math.floor(A_BLOCK / kcMax)), MR), roundUp(M, MR));
  const ncMax = Math.min(NC, roundUp(N, NR));
  if (packA.length < mcMax * kcMax) packA = new Float32Array(mcMax * kcMax);
  if (packB.length < ncMax * kcMax) packB = new Float32Array(ncMax * kcMax);
  const ap = packA;
  const bp = packB;
  for (let jc = 0; jc < N; jc += ncMax) {
    const nc = Math.min(ncMax, N - jc);
    for (let pc = 0; pc < K; pc += kcMax) {
      const kc = Math.min(kcMax, K - pc);
      if (transB) packBTrans(B, bOff + jc * ldb + pc, ldb, kc, nc, bp);
      else packBPlain(B, bOff + pc * ldb + jc, ldb, kc, nc, bp);
      for (let ic = 0; ic < M; ic += mcMax) {
        const mc = Math.min(mcMax, M - ic);
        if (transA) packATrans(A, aOff + pc * lda + ic, lda, kc, mc, ap);
        else packAPlain(A, aOff + ic * lda + pc, lda, kc, mc, ap);
        macroKernel(mc, nc, kc, ap, bp, C, cOff + ic * ldc + jc, ldc);
      }
    }
  }
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/** op(A) = A: rows of A are contiguous; sliver element (p, i) goes to ap[s + p*MR + i]. */
function packAPlain(A: Float32Array, off: number, lda: number, kc: number, mc: number, ap: Float32Array): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const s = i0 * kc;
    const mr = Math.min(MR, mc - i0);
    for (let i = 0; i < MR; i++) {
      let t = s + i;
      if (i < mr) {
        const r = off + (i0 + i) * lda;
        for (let p = 0; p < kc; p++, t += MR) ap[t] = A[r + p]!;
      } else {
        for (let p = 0; p < kc; p++, t += MR) ap[t] = 0;
      }
    }
  }
}

/** op(A) = A^T: A is stored [K, M], so each k-row of the sliver is MR contiguous values. */
function packATrans(A: Float32Array, off: number, lda: number, kc: number, mc: number, ap: Float32Array): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    let t = i0 * kc;
    const mr = Math.min(MR, mc - i0);
    if (mr === MR) {
      for (let p = 0, r = off + i0; p < kc; p++, r += lda, t += MR) {
        ap[t] = A[r]!;
        ap[t + 1] = A[r + 1]!;
        ap[t + 2] = A[r + 2]!;
        ap[t + 3] = A[r + 3]!;
      }
    } else {
      for (let p = 0, r = off + i0; p < kc; p++, r += lda, t += MR) {
        for (let i = 0; i < MR; i++) ap[t + i] = i < mr ? A[r + i]! : 0;
      }
    }
  }
}

/** op(B) = B: each k-row of the sliver is NR contiguous values of a row of B. */
function packBPlain(B: Float32Array, off: number, ldb: number, kc: number, nc: number, bp: Float32Array): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    let t = j0 * kc;
    const nr = Math.min(NR, nc - j0);
    if (nr === NR) {
      for (let p = 0, r = off + j0; p < kc; p++, r += ldb, t += NR) {
        bp[t] = B[r]!;
        bp[t + 1] = B[r + 1]!;
        bp[t + 2] = B[r + 2]!;
        bp[t + 3] = B[r + 3]!;
      }
    } else {
      for (let p = 0, r = off + j0; p < kc; p++, r += ldb, t += NR) {
        for (let j = 0; j < NR; j++) bp[t + j] = j < nr ? B[r + j]! : 0;
      }
    }
  }
}

/** op(B) = B^T: B is stored [N, K], so column j of op(B) is a contiguous row of B. */
function packBTrans(B: Float32Array, off: number, ldb: number, kc: number, nc: number, bp: Float32Array): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const s = j0 * kc;
    const nr = Math.min(NR, nc - j0);
    for (let j = 0; j < NR; j++) {
      let t = s + j;
      if (j < nr) {
        const r = off + (j0 + j) * ldb;
        for (let p = 0; p < kc; p++, t += NR) bp[t] = B[r + p]!;
      } else {
        for (let p = 0; p < kc; p++, t += NR) bp[t] = 0;
      }
    }
  }
}

/**
 * C block [mc, nc] += packed A block * packed B block. The jr loop is outermost so one B sliver
 * stays in L1 while every A sliver of the block passes over it.
 */
function macroKernel(
  mc: number,
  nc: number,
  kc: number,
  ap: Float32Array,
  bp: Float32Array,
  C: Float32Array,
  cOff: number,
  ldc: number,
): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = Math.min(NR, nc - j0);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const mr = Math.min(MR, mc - i0);
      let ai = i0 * kc;
      let bi = j0 * kc;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < kc; p++) {
        const a0 = ap[ai]!, a1 = ap[ai + 1]!, a2 = ap[ai + 2]!, a3 = ap[ai + 3]!;
        const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!, b3 = bp[bi + 3]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        ai += MR;
        bi += NR;
      }
      let c = cOff + i0 * ldc + j0;
      if (mr === MR && nr === NR) {
        C[c] = C[c]! + c00; C[c + 1] = C[c + 1]! + c01; C[c + 2] = C[c + 2]! + c02; C[c + 3] = C[c + 3]! + c03;
        c += ldc;
        C[c] = C[c]! + c10; C[c + 1] = C[c + 1]! + c11; C[c + 2] = C[c + 2]! + c12; C[c + 3] = C[c + 3]! + c13;
        c += ldc;
        C[c] = C[c]! + c20; C[c + 1] = C[c + 1]! + c21; C[c + 2] = C[c + 2]! + c22; C[c + 3] = C[c + 3]! + c23;
        c += ldc;
        C[c] = C[c]! + c30; C[c + 1] = C[c + 1]! + c31; C[c + 2] = C[c + 2]! + c32; C[c + 3] = C[c + 3]! + c33;
      } else {
        edge[0] = c00; edge[1] = c01; edge[2] = c02; edge[3] = c03;
        edge[4] = c10; edge[5] = c11; edge[6] = c12; edge[7] = c13;
        edge[8] = c20; edge[9] = c21; edge[10] = c22; edge[11] = c23;
        edge[12] = c30; edge[13] = c31; edge[14] = c32; edge[15] = c33;
        for (let i = 0; i < mr; i++, c += ldc) {
          for (let j = 0; j < nr; j++) C[c + j] = C[c + j]! + edge[i * NR + j]!;
        }
      }
    }
  }
}
