// @ts-nocheck -- AssemblyScript, not TypeScript: compiled to ../kernels.wasm by scripts/build-wasm.ts
// (npm run build:wasm). The root tsconfig only parses this file; ./tsconfig.json gives editors
// AssemblyScript's types.
//
// WebAssembly SIMD (v128) kernels of the dispatcher's WebAssembly backend. There is no allocator
// and no runtime: every pointer (operands, results, scratch) is laid out in linear memory by the
// JavaScript side (engine/kernels/wasm/gemm.ts, conv.ts), which copies operands in and results out.
//
// GEMM follows the same Goto/BLIS scheme as the TypeScript kernels (ts/gemm-f32.ts): op(B) is packed
// per KC x NC panel into NR-wide slivers, op(A) per MC x KC block into MR-tall slivers, both
// zero-padded to whole slivers, so the micro-kernel never branches on edges. The micro-tiles are
// 4x8 for f32 (8 f32x4 accumulators) and 4x4 for f64 (8 f64x2 accumulators): with two B vectors,
// one broadcast A value and a product temporary that is 12 of the 15 xmm registers V8 allocates,
// so nothing spills (5x8, 6x8, 8x8 and 4x12 all spill and run at half speed), and 16 independent
// mul/add per k-step keep both multiply and both add pipes busy.
// The same source compiles twice (scripts/build-wasm.ts): plain SIMD, where the micro-kernels
// multiply and add separately, and with relaxed SIMD, where they use relaxed_madd (a fused
// multiply-add where the CPU has one: one rounding instead of two, so the last bits differ). The
// loader (../index.ts) takes the relaxed module where the runtime validates it (current browsers;
// Node 20 only behind --experimental-wasm-relaxed-simd) and the plain one otherwise.

const MR: i32 = 4;
/**
 * Depth of one packed slice: a 512 x 8 sliver of B (16 KB f32, 16 KB f64) stays in L1 and C is
 * updated once per 512 k-steps. Measured flat within a few per cent from KC 256..512, MC 64..256
 * and NC 256..4096 on a Zen 5 core (GEMM 512/1024, ResNet convolutions).
 */
const KC: i32 = 512;
/** Rows of A packed at once: an MC x KC block (128 KB f32) stays in L2. */
const MC: i32 = 64;
/** Columns of B packed at once: bounds the packed-B scratch to KC * NC elements. */
const NC: i32 = 4096;

// ---------------------------------------------------------------------------------------------
// Blocking

function nrOf<T>(): i32 {
  return sizeof<T>() == 4 ? 8 : 4;
}

function roundUp(x: i32, m: i32): i32 {
  return ((x + m - 1) / m) * m;
}

/** Equal K slices (1152 -> 3 x 384, not 512 + 512 + 128) keep every slice long enough to amortise the C updates. */
function kcOf(K: i32): i32 {
  const n = (K + KC - 1) / KC;
  return (K + n - 1) / n;
}

function align64(p: usize): usize {
  return (p + 63) & ~(<usize>63);
}

function scratchBytes<T>(M: i32, N: i32, K: i32): i32 {
  const S = <i32>sizeof<T>();
  const kc = kcOf(max<i32>(K, 1));
  const mc = min<i32>(MC, roundUp(max<i32>(M, 1), MR));
  const nc = min<i32>(NC, roundUp(max<i32>(N, 1), nrOf<T>()));
  return (nc * kc + mc * kc + MR * nrOf<T>()) * S + 3 * 64;
}

/** Bytes of scratch that gemmF32 needs for these sizes. */
export function gemmScratchBytesF32(M: i32, N: i32, K: i32): i32 {
  return scratchBytes<f32>(M, N, K);
}

export function gemmScratchBytesF64(M: i32, N: i32, K: i32): i32 {
  return scratchBytes<f64>(M, N, K);
}

// ---------------------------------------------------------------------------------------------
// GEMM driver

/**
 * C[M,N] (+)= op(A)[M,K] * op(B)[K,N]; a, b, c are byte addresses, lda, ldb, ldc row strides in
 * elements of the stored matrices (A stored [K,M] when transA). work: gemmScratchBytes bytes.
 */
function gemm<T>(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  const S = <usize>sizeof<T>();
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>(i * ldc) * S, 0, <usize>N * S);
    return;
  }
  const NR = nrOf<T>();
  const kcMax = kcOf(K);
  const mcMax = min<i32>(MC, roundUp(M, MR));
  const ncMax = min<i32>(NC, roundUp(N, NR));
  const bp = align64(work);
  const ap = align64(bp + <usize>(ncMax * kcMax) * S);
  const tile = align64(ap + <usize>(mcMax * kcMax) * S);
  for (let jc = 0; jc < N; jc += ncMax) {
    const nc = min<i32>(ncMax, N - jc);
    for (let pc = 0; pc < K; pc += kcMax) {
      const kc = min<i32>(kcMax, K - pc);
      const overwrite = pc == 0 && !accumulate;
      if (transB) packBTrans<T>(b + <usize>(jc * ldb + pc) * S, ldb, kc, nc, bp);
      else packBPlain<T>(b + <usize>(pc * ldb + jc) * S, ldb, kc, nc, bp);
      for (let ic = 0; ic < M; ic += mcMax) {
        const mc = min<i32>(mcMax, M - ic);
        if (transA) packATrans<T>(a + <usize>(pc * lda + ic) * S, lda, kc, mc, ap);
        else packAPlain<T>(a + <usize>(ic * lda + pc) * S, lda, kc, mc, ap);
        macroKernel<T>(mc, nc, kc, ap, bp, c + <usize>(ic * ldc + jc) * S, ldc, overwrite, tile);
      }
    }
  }
}

export function gemmF32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  gemm<f32>(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, work);
}

export function gemmF64(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  gemm<f64>(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, work);
}

// ---------------------------------------------------------------------------------------------
// Packing. Sliver layouts: A sliver element (p, i) at ap[s + p*MR + i], B sliver (p, j) at
// bp[s + p*NR + j], s the sliver's start; rows/columns past the matrix edge are zero.

/** op(A) = A: four rows of A are interleaved; f32 full slivers go through 4x4 SIMD transposes. */
function packAPlain<T>(src: usize, lda: i32, kc: i32, mc: i32, ap: usize): void {
  const S = <usize>sizeof<T>();
  const ldaB = <usize>lda * S;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const dst = ap + <usize>(i0 * kc) * S;
    const mr = min<i32>(MR, mc - i0);
    const r0 = src + <usize>i0 * ldaB;
    let p = 0;
    if (sizeof<T>() == 4 && mr == MR) {
      const r1 = r0 + ldaB, r2 = r1 + ldaB, r3 = r2 + ldaB;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4;
        const x0 = v128.load(r0 + o), x1 = v128.load(r1 + o), x2 = v128.load(r2 + o), x3 = v128.load(r3 + o);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5); // a0 b0 a1 b1
        const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5); // c0 d0 c1 d1
        const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7); // a2 b2 a3 b3
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7); // c2 d2 c3 d3
        const d = dst + o * 4;
        v128.store(d, v128.shuffle<f64>(t0, t1, 0, 2));
        v128.store(d, v128.shuffle<f64>(t0, t1, 1, 3), 16);
        v128.store(d, v128.shuffle<f64>(t2, t3, 0, 2), 32);
        v128.store(d, v128.shuffle<f64>(t2, t3, 1, 3), 48);
      }
    }
    for (let i = 0; i < MR; i++) {
      let t = dst + (<usize>(p * MR + i)) * S;
      if (i < mr) {
        let r = r0 + <usize>i * ldaB + <usize>p * S;
        for (let q = p; q < kc; q++) {
          store<T>(t, load<T>(r));
          t += <usize>MR * S;
          r += S;
        }
      } else {
        for (let q = p; q < kc; q++) {
          store<T>(t, <T>0);
          t += <usize>MR * S;
        }
      }
    }
  }
}

/** op(A) = A^T: A is stored [K, M], so each k-row of a sliver is MR contiguous values. */
function packATrans<T>(src: usize, lda: i32, kc: i32, mc: i32, ap: usize): void {
  const S = <usize>sizeof<T>();
  const ldaB = <usize>lda * S;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    let t = ap + <usize>(i0 * kc) * S;
    const mr = min<i32>(MR, mc - i0);
    let r = src + <usize>i0 * S;
    if (mr == MR) {
      for (let p = 0; p < kc; p++) {
        v128.store(t, v128.load(r));
        if (sizeof<T>() == 8) v128.store(t, v128.load(r, 16), 16);
        t += <usize>MR * S;
        r += ldaB;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let i = 0; i < MR; i++) store<T>(t + <usize>i * S, i < mr ? load<T>(r + <usize>i * S) : <T>0);
        t += <usize>MR * S;
        r += ldaB;
      }
    }
  }
}

/** op(B) = B: each k-row of a sliver is NR contiguous values of a row of B (32 bytes for both dtypes). */
function packBPlain<T>(src: usize, ldb: i32, kc: i32, nc: i32, bp: usize): void {
  const S = <usize>sizeof<T>();
  const NR = nrOf<T>();
  const ldbB = <usize>ldb * S;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    let t = bp + <usize>(j0 * kc) * S;
    const nr = min<i32>(NR, nc - j0);
    let r = src + <usize>j0 * S;
    if (nr == NR) {
      for (let p = 0; p < kc; p++) {
        v128.store(t, v128.load(r));
        v128.store(t, v128.load(r, 16), 16);
        t += 32;
        r += ldbB;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) store<T>(t + <usize>j * S, j < nr ? load<T>(r + <usize>j * S) : <T>0);
        t += 32;
        r += ldbB;
      }
    }
  }
}

/** op(B) = B^T: B is stored [N, K], column j of op(B) is a contiguous row of B; f32 uses 4x4 transposes. */
function packBTrans<T>(src: usize, ldb: i32, kc: i32, nc: i32, bp: usize): void {
  const S = <usize>sizeof<T>();
  const NR = nrOf<T>();
  const ldbB = <usize>ldb * S;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const dst = bp + <usize>(j0 * kc) * S;
    const nr = min<i32>(NR, nc - j0);
    const r0 = src + <usize>j0 * ldbB;
    let p = 0;
    if (sizeof<T>() == 4 && nr == NR) {
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4;
        const d = dst + o * 8;
        for (let h: usize = 0; h < 2; h++) {
          const rh = r0 + h * 4 * ldbB + o;
          const x0 = v128.load(rh), x1 = v128.load(rh + ldbB), x2 = v128.load(rh + 2 * ldbB), x3 = v128.load(rh + 3 * ldbB);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const dh = d + h * 16;
          v128.store(dh, v128.shuffle<f64>(t0, t1, 0, 2));
          v128.store(dh, v128.shuffle<f64>(t0, t1, 1, 3), 32);
          v128.store(dh, v128.shuffle<f64>(t2, t3, 0, 2), 64);
          v128.store(dh, v128.shuffle<f64>(t2, t3, 1, 3), 96);
        }
      }
    }
    for (let j = 0; j < NR; j++) {
      let t = dst + (<usize>(p * NR + j)) * S;
      if (j < nr) {
        let r = r0 + <usize>j * ldbB + <usize>p * S;
        for (let q = p; q < kc; q++) {
          store<T>(t, load<T>(r));
          t += <usize>NR * S;
          r += S;
        }
      } else {
        for (let q = p; q < kc; q++) {
          store<T>(t, <T>0);
          t += <usize>NR * S;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Macro- and micro-kernels

/**
 * C block [mc, nc] (+)= packed A block * packed B block. The jr loop is outermost so one B sliver
 * stays in L1 while every A sliver of the block passes over it. Partial edge tiles go through a
 * full-size spill tile.
 */
function macroKernel<T>(
  mc: i32, nc: i32, kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, overwrite: bool, tile: usize,
): void {
  const S = <usize>sizeof<T>();
  const NR = nrOf<T>();
  const ldcB = <usize>ldc * S;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min<i32>(NR, nc - j0);
    const bs = bp + <usize>(j0 * kc) * S;
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const mr = min<i32>(MR, mc - i0);
      const as = ap + <usize>(i0 * kc) * S;
      const cp = c + <usize>i0 * ldcB + <usize>j0 * S;
      if (mr == MR && nr == NR) {
        micro<T>(kc, as, bs, cp, ldcB, overwrite);
      } else {
        micro<T>(kc, as, bs, tile, <usize>NR * S, true);
        for (let i = 0; i < mr; i++) {
          for (let j = 0; j < nr; j++) {
            const v = load<T>(tile + <usize>(i * NR + j) * S);
            const d = cp + <usize>i * ldcB + <usize>j * S;
            store<T>(d, overwrite ? v : load<T>(d) + v);
          }
        }
      }
    }
  }
}

/** c + a * b per f32 lane: fused (relaxed_madd) in the relaxed build, mul then add in the plain one. */
@inline
function maddF32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** c + a * b per f64 lane, as maddF32. */
@inline
function maddF64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

function micro<T>(kc: i32, a: usize, b: usize, c: usize, ldcB: usize, overwrite: bool): void {
  if (sizeof<T>() == 4) micro4x8F32(kc, a, b, c, ldcB, overwrite);
  else micro4x4F64(kc, a, b, c, ldcB, overwrite);
}

/**
 * 4x8 f32 tile: per k, two f32x4 of B, four broadcast A values, 8 multiply-adds. Deliberately not
 * unrolled: unrolled over k, binaryen and TurboFan hoist the loads of later steps and the 15 xmm
 * registers spill (measured: 30 GFLOP/s unrolled against 47 for this loop, with operands in L1).
 * The loop ends when A's pointer reaches its end: without a separate step counter the convolutions
 * ran 8-10% faster (one integer update fewer in a loop of 16 SIMD operations and 6 loads).
 */
function micro4x8F32(kc: i32, a: usize, b: usize, c: usize, ldcB: usize, overwrite: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const aEnd = a + (<usize>kc << 4);
  while (a < aEnd) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = maddF32(x, b0, c00); c01 = maddF32(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = maddF32(x, b0, c10); c11 = maddF32(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = maddF32(x, b0, c20); c21 = maddF32(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = maddF32(x, b0, c30); c31 = maddF32(x, b1, c31);
    a += 16;
    b += 32;
  }
  if (overwrite) {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldcB;
    v128.store(c, c10); v128.store(c, c11, 16); c += ldcB;
    v128.store(c, c20); v128.store(c, c21, 16); c += ldcB;
    v128.store(c, c30); v128.store(c, c31, 16);
  } else {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += ldcB;
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += ldcB;
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += ldcB;
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
  }
}

/** 4x4 f64 tile: per k, two f64x2 of B, four broadcast A values, 8 multiply-adds; not unrolled either. */
function micro4x4F64(kc: i32, a: usize, b: usize, c: usize, ldcB: usize, overwrite: bool): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  const aEnd = a + (<usize>kc << 5);
  while (a < aEnd) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load64_splat(a);
    c00 = maddF64(x, b0, c00); c01 = maddF64(x, b1, c01);
    x = v128.load64_splat(a, 8);
    c10 = maddF64(x, b0, c10); c11 = maddF64(x, b1, c11);
    x = v128.load64_splat(a, 16);
    c20 = maddF64(x, b0, c20); c21 = maddF64(x, b1, c21);
    x = v128.load64_splat(a, 24);
    c30 = maddF64(x, b0, c30); c31 = maddF64(x, b1, c31);
    a += 32;
    b += 32;
  }
  if (overwrite) {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldcB;
    v128.store(c, c10); v128.store(c, c11, 16); c += ldcB;
    v128.store(c, c20); v128.store(c, c21, 16); c += ldcB;
    v128.store(c, c30); v128.store(c, c31, 16);
  } else {
    v128.store(c, f64x2.add(v128.load(c), c00)); v128.store(c, f64x2.add(v128.load(c, 16), c01), 16); c += ldcB;
    v128.store(c, f64x2.add(v128.load(c), c10)); v128.store(c, f64x2.add(v128.load(c, 16), c11), 16); c += ldcB;
    v128.store(c, f64x2.add(v128.load(c), c20)); v128.store(c, f64x2.add(v128.load(c, 16), c21), 16); c += ldcB;
    v128.store(c, f64x2.add(v128.load(c), c30)); v128.store(c, f64x2.add(v128.load(c, 16), c31), 16);
  }
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im over a band of output rows (the same lowering as engine/kernels/ts/conv.ts)

/** ceil(a / b) for b > 0 and any sign of a. */
function ceilDiv(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/**
 * Short row copies and clears. memory.copy / memory.fill go through a runtime call in V8, which
 * costs more than the copy itself for the 7..224-element rows of im2col.
 */
function copyBytes(dst: usize, src: usize, bytes: usize): void {
  let o: usize = 0;
  for (; o + 32 <= bytes; o += 32) {
    v128.store(dst + o, v128.load(src + o));
    v128.store(dst + o, v128.load(src + o, 16), 16);
  }
  if (o + 16 <= bytes) {
    v128.store(dst + o, v128.load(src + o));
    o += 16;
  }
  for (; o + 4 <= bytes; o += 4) store<u32>(dst + o, load<u32>(src + o));
}

function zeroBytes(dst: usize, bytes: usize): void {
  const z = i32x4.splat(0);
  let o: usize = 0;
  for (; o + 32 <= bytes; o += 32) {
    v128.store(dst + o, z);
    v128.store(dst + o, z, 16);
  }
  if (o + 16 <= bytes) {
    v128.store(dst + o, z);
    o += 16;
  }
  for (; o + 4 <= bytes; o += 4) store<u32>(dst + o, 0);
}

/**
 * col[(c*KH+kh)*KW+kw, (oh-oh0)*OW+ow] = x[c*H*W + ih*W + iw] for oh0 <= oh < oh1, zero outside
 * the image. x and col are byte addresses.
 */
function im2col<T>(
  x: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, col: usize,
): void {
  const S = <usize>sizeof<T>();
  const P = (oh1 - oh0) * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = x + <usize>(c * H * W) * S;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = col + <usize>(((c * KH + kh) * KW + kw) * P) * S;
        const kd = kw * dW;
        const lo = min<i32>(OW, max<i32>(0, ceilDiv(pW - kd, sW)));
        const hi = max<i32>(lo, min<i32>(OW, ceilDiv(W + pW - kd, sW)));
        const iw0 = kd - pW;
        for (let oh = oh0; oh < oh1; oh++) {
          const ih = oh * sH - pH + kh * dH;
          const r = row + <usize>((oh - oh0) * OW) * S;
          if (ih < 0 || ih >= H) {
            zeroBytes(r, <usize>OW * S);
            continue;
          }
          if (lo > 0) zeroBytes(r, <usize>lo * S);
          if (hi < OW) zeroBytes(r + <usize>hi * S, <usize>(OW - hi) * S);
          const xr = xc + <usize>(ih * W + iw0) * S;
          if (sW == 1) {
            copyBytes(r + <usize>lo * S, xr + <usize>lo * S, <usize>(hi - lo) * S);
          } else {
            for (let ow = lo; ow < hi; ow++) store<T>(r + <usize>ow * S, load<T>(xr + <usize>(ow * sW) * S));
          }
        }
      }
    }
  }
}

/** The adjoint of im2col over the same band: scatter-adds the columns into x. */
function col2im<T>(
  col: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, x: usize,
): void {
  const S = <usize>sizeof<T>();
  const P = (oh1 - oh0) * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = x + <usize>(c * H * W) * S;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = col + <usize>(((c * KH + kh) * KW + kw) * P) * S;
        const kd = kw * dW;
        const lo = min<i32>(OW, max<i32>(0, ceilDiv(pW - kd, sW)));
        const hi = max<i32>(lo, min<i32>(OW, ceilDiv(W + pW - kd, sW)));
        const iw0 = kd - pW;
        for (let oh = oh0; oh < oh1; oh++) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H) continue;
          const r = row + <usize>((oh - oh0) * OW) * S;
          const xr = xc + <usize>(ih * W + iw0) * S;
          if (sW == 1) {
            let ow = lo;
            if (sizeof<T>() == 4) {
              for (; ow + 4 <= hi; ow += 4) {
                const d = xr + <usize>ow * S;
                v128.store(d, f32x4.add(v128.load(d), v128.load(r + <usize>ow * S)));
              }
            } else {
              for (; ow + 2 <= hi; ow += 2) {
                const d = xr + <usize>ow * S;
                v128.store(d, f64x2.add(v128.load(d), v128.load(r + <usize>ow * S)));
              }
            }
            for (; ow < hi; ow++) {
              const d = xr + <usize>ow * S;
              store<T>(d, load<T>(d) + load<T>(r + <usize>ow * S));
            }
          } else {
            for (let ow = lo; ow < hi; ow++) {
              const d = xr + <usize>(ow * sW) * S;
              store<T>(d, load<T>(d) + load<T>(r + <usize>ow * S));
            }
          }
        }
      }
    }
  }
}

export function im2colF32(
  x: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, col: usize,
): void {
  im2col<f32>(x, Cg, H, W, KH, KW, OW, sH, sW, pH, pW, dH, dW, oh0, oh1, col);
}

export function im2colF64(
  x: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, col: usize,
): void {
  im2col<f64>(x, Cg, H, W, KH, KW, OW, sH, sW, pH, pW, dH, dW, oh0, oh1, col);
}

export function col2imF32(
  col: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, x: usize,
): void {
  col2im<f32>(col, Cg, H, W, KH, KW, OW, sH, sW, pH, pW, dH, dW, oh0, oh1, x);
}

export function col2imF64(
  col: usize, Cg: i32, H: i32, W: i32, KH: i32, KW: i32, OW: i32,
  sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32, oh0: i32, oh1: i32, x: usize,
): void {
  col2im<f64>(col, Cg, H, W, KH, KW, OW, sH, sW, pH, pW, dH, dW, oh0, oh1, x);
}

/** First byte the JavaScript side may use for its own layout. */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------
// Elementwise clamp / relu, in place over n elements at p (engine/kernels/wasm/elementwise.ts).
// Pseudo-min/max (pmax(a, b) = a < b ? b : a, pmin(a, b) = b < a ? b : a) are exactly the
// JavaScript loops' ternaries, so results match them bit for bit: a NaN element compares false and
// passes through unchanged, -0 stays -0 against a 0 bound. clamp assumes lo <= hi (the caller checks).

/** x = x < lo ? lo : x > hi ? hi : x over f32[n] at p. */
export function clampF32(p: usize, n: i32, lo: f32, hi: f32): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const end = p + (<usize>n << 2);
  const end16 = p + (<usize>(n & ~15) << 2);
  let q = p;
  for (; q < end16; q += 64) {
    v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q), vlo), vhi));
    v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q, 16), vlo), vhi), 16);
    v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q, 32), vlo), vhi), 32);
    v128.store(q, f32x4.pmin(f32x4.pmax(v128.load(q, 48), vlo), vhi), 48);
  }
  for (; q < end; q += 4) {
    const v = load<f32>(q);
    store<f32>(q, v < lo ? lo : v > hi ? hi : v);
  }
}

export function clampF64(p: usize, n: i32, lo: f64, hi: f64): void {
  const vlo = f64x2.splat(lo);
  const vhi = f64x2.splat(hi);
  const end = p + (<usize>n << 3);
  const end8 = p + (<usize>(n & ~7) << 3);
  let q = p;
  for (; q < end8; q += 64) {
    v128.store(q, f64x2.pmin(f64x2.pmax(v128.load(q), vlo), vhi));
    v128.store(q, f64x2.pmin(f64x2.pmax(v128.load(q, 16), vlo), vhi), 16);
    v128.store(q, f64x2.pmin(f64x2.pmax(v128.load(q, 32), vlo), vhi), 32);
    v128.store(q, f64x2.pmin(f64x2.pmax(v128.load(q, 48), vlo), vhi), 48);
  }
  for (; q < end; q += 8) {
    const v = load<f64>(q);
    store<f64>(q, v < lo ? lo : v > hi ? hi : v);
  }
}

/**
 * x = x <= 0 ? 0 : x over f32[n] at p, like engine/ops/elementwise.ts's reluLoop: -0 becomes +0 and
 * NaN passes through with its bits (as PyTorch's relu keeps NaN). The mask keeps v where v > 0 or
 * v != v (NaN); pmax cannot do both, since it maps -0 to -0.
 */
@inline
function reluLanesF32(v: v128, z: v128): v128 {
  return v128.bitselect(v, z, v128.or(f32x4.gt(v, z), f32x4.ne(v, v)));
}

@inline
function reluLanesF64(v: v128, z: v128): v128 {
  return v128.bitselect(v, z, v128.or(f64x2.gt(v, z), f64x2.ne(v, v)));
}

export function reluF32(p: usize, n: i32): void {
  const z = f32x4.splat(0);
  const end = p + (<usize>n << 2);
  const end16 = p + (<usize>(n & ~15) << 2);
  let q = p;
  for (; q < end16; q += 64) {
    v128.store(q, reluLanesF32(v128.load(q), z));
    v128.store(q, reluLanesF32(v128.load(q, 16), z), 16);
    v128.store(q, reluLanesF32(v128.load(q, 32), z), 32);
    v128.store(q, reluLanesF32(v128.load(q, 48), z), 48);
  }
  for (; q < end; q += 4) {
    const v = load<f32>(q);
    store<f32>(q, v <= 0 ? 0 : v);
  }
}

export function reluF64(p: usize, n: i32): void {
  const z = f64x2.splat(0);
  const end = p + (<usize>n << 3);
  const end8 = p + (<usize>(n & ~7) << 3);
  let q = p;
  for (; q < end8; q += 64) {
    v128.store(q, reluLanesF64(v128.load(q), z));
    v128.store(q, reluLanesF64(v128.load(q, 16), z), 16);
    v128.store(q, reluLanesF64(v128.load(q, 32), z), 32);
    v128.store(q, reluLanesF64(v128.load(q, 48), z), 48);
  }
  for (; q < end; q += 8) {
    const v = load<f64>(q);
    store<f64>(q, v <= 0 ? 0 : v);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise add / sub / mul / div (engine/kernels/wasm/elementwise.ts), code as BinaryCode:
// 0 add, 1 sub, 2 mul, 3 div. One IEEE operation per element in the arrays' own precision, which
// is what the JavaScript loops give too (a float32 result computed in float64 and rounded once
// equals the float32 operation for these four), so the results match them bit for bit.

/** p[i] = p[i] (op) q[i] over f32[n]. */
export function binaryF32(code: i32, p: usize, q: usize, n: i32): void {
  const end = p + (<usize>(n & ~3) << 2);
  const d = q - p;
  let r = p;
  switch (code) {
    case 0: for (; r < end; r += 16) v128.store(r, f32x4.add(v128.load(r), v128.load(r + d))); break;
    case 1: for (; r < end; r += 16) v128.store(r, f32x4.sub(v128.load(r), v128.load(r + d))); break;
    case 2: for (; r < end; r += 16) v128.store(r, f32x4.mul(v128.load(r), v128.load(r + d))); break;
    default: for (; r < end; r += 16) v128.store(r, f32x4.div(v128.load(r), v128.load(r + d))); break;
  }
  for (let i = n & ~3; i < n; i++) {
    const a = load<f32>(p + (<usize>i << 2));
    const b = load<f32>(q + (<usize>i << 2));
    store<f32>(p + (<usize>i << 2), code === 0 ? a + b : code === 1 ? a - b : code === 2 ? a * b : a / b);
  }
}

export function binaryF64(code: i32, p: usize, q: usize, n: i32): void {
  const end = p + (<usize>(n & ~1) << 3);
  const d = q - p;
  let r = p;
  switch (code) {
    case 0: for (; r < end; r += 16) v128.store(r, f64x2.add(v128.load(r), v128.load(r + d))); break;
    case 1: for (; r < end; r += 16) v128.store(r, f64x2.sub(v128.load(r), v128.load(r + d))); break;
    case 2: for (; r < end; r += 16) v128.store(r, f64x2.mul(v128.load(r), v128.load(r + d))); break;
    default: for (; r < end; r += 16) v128.store(r, f64x2.div(v128.load(r), v128.load(r + d))); break;
  }
  if (n & 1) {
    const o = <usize>(n - 1) << 3;
    const a = load<f64>(p + o);
    const b = load<f64>(q + o);
    store<f64>(p + o, code === 0 ? a + b : code === 1 ? a - b : code === 2 ? a * b : a / b);
  }
}

/** p[i] = p[i] (op) s, or s (op) p[i] when `scalarFirst`, over f32[n]. */
export function binaryScalarF32(code: i32, p: usize, s: f32, scalarFirst: bool, n: i32): void {
  const v = f32x4.splat(s);
  const end = p + (<usize>(n & ~3) << 2);
  let r = p;
  // Sub and div with the scalar first are the only orders that differ.
  const c = scalarFirst && (code === 1 || code === 3) ? code + 4 : code;
  switch (c) {
    case 0: for (; r < end; r += 16) v128.store(r, f32x4.add(v128.load(r), v)); break;
    case 1: for (; r < end; r += 16) v128.store(r, f32x4.sub(v128.load(r), v)); break;
    case 2: for (; r < end; r += 16) v128.store(r, f32x4.mul(v128.load(r), v)); break;
    case 3: for (; r < end; r += 16) v128.store(r, f32x4.div(v128.load(r), v)); break;
    case 5: for (; r < end; r += 16) v128.store(r, f32x4.sub(v, v128.load(r))); break;
    default: for (; r < end; r += 16) v128.store(r, f32x4.div(v, v128.load(r))); break;
  }
  for (let i = n & ~3; i < n; i++) {
    const a = load<f32>(p + (<usize>i << 2));
    store<f32>(p + (<usize>i << 2), c === 0 ? a + s : c === 1 ? a - s : c === 2 ? a * s : c === 3 ? a / s : c === 5 ? s - a : s / a);
  }
}

export function binaryScalarF64(code: i32, p: usize, s: f64, scalarFirst: bool, n: i32): void {
  const v = f64x2.splat(s);
  const end = p + (<usize>(n & ~1) << 3);
  let r = p;
  const c = scalarFirst && (code === 1 || code === 3) ? code + 4 : code;
  switch (c) {
    case 0: for (; r < end; r += 16) v128.store(r, f64x2.add(v128.load(r), v)); break;
    case 1: for (; r < end; r += 16) v128.store(r, f64x2.sub(v128.load(r), v)); break;
    case 2: for (; r < end; r += 16) v128.store(r, f64x2.mul(v128.load(r), v)); break;
    case 3: for (; r < end; r += 16) v128.store(r, f64x2.div(v128.load(r), v)); break;
    case 5: for (; r < end; r += 16) v128.store(r, f64x2.sub(v, v128.load(r))); break;
    default: for (; r < end; r += 16) v128.store(r, f64x2.div(v, v128.load(r))); break;
  }
  if (n & 1) {
    const o = <usize>(n - 1) << 3;
    const a = load<f64>(p + o);
    store<f64>(p + o, c === 0 ? a + s : c === 1 ? a - s : c === 2 ? a * s : c === 3 ? a / s : c === 5 ? s - a : s / a);
  }
}

// ---------------------------------------------------------------------------------------------
// LRP's element-wise steps (engine/kernels/wasm/elementwise.ts): the stabilised divide and the
// clamp/relu VJP, in place at p with the second operand at q. The JavaScript loops (ts/unary.ts)
// compute in float64 whatever the arrays' dtype (a float64 bound or eps, one rounding to float32 at
// the store), so the float32 forms widen each half of a vector to f64x2, compute there and narrow
// once: the same operations in the same precision, bit for bit.

/** The two f64x2 halves of an f32x4, and back. */
@inline
function lowF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline
function highF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

@inline
function joinF32(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** r / (y + (y >= 0 ? eps : -eps)) per f64 lane (NaN y: -eps, and NaN anyway; -0: +eps). */
@inline
function stabilizedDivLanes(r: v128, y: v128, pos: v128, neg: v128, zero: v128): v128 {
  return f64x2.div(r, f64x2.add(y, v128.bitselect(pos, neg, f64x2.ge(y, zero))));
}

/** p[i] = p[i] / (q[i] + (q[i] >= 0 ? eps : -eps)) over f32[n], computed in f64. */
export function stabilizedDivF32(p: usize, q: usize, n: i32, eps: f64): void {
  const pos = f64x2.splat(eps);
  const neg = f64x2.splat(-eps);
  const zero = f64x2.splat(0);
  const end = p + (<usize>(n & ~3) << 2);
  const d = q - p;
  for (let r = p; r < end; r += 16) {
    const a = v128.load(r);
    const y = v128.load(r + d);
    v128.store(r, joinF32(stabilizedDivLanes(lowF64(a), lowF64(y), pos, neg, zero), stabilizedDivLanes(highF64(a), highF64(y), pos, neg, zero)));
  }
  for (let i = n & ~3; i < n; i++) {
    const o = <usize>i << 2;
    const y = <f64>load<f32>(q + o);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) / (y + (y >= 0 ? eps : -eps))));
  }
}

export function stabilizedDivF64(p: usize, q: usize, n: i32, eps: f64): void {
  const pos = f64x2.splat(eps);
  const neg = f64x2.splat(-eps);
  const zero = f64x2.splat(0);
  const end = p + (<usize>(n & ~1) << 3);
  const d = q - p;
  for (let r = p; r < end; r += 16) v128.store(r, stabilizedDivLanes(v128.load(r), v128.load(r + d), pos, neg, zero));
  if (n & 1) {
    const o = <usize>(n - 1) << 3;
    const y = load<f64>(q + o);
    store<f64>(p + o, load<f64>(p + o) / (y + (y >= 0 ? eps : -eps)));
  }
}

/** All ones per f64 lane where lo < x (openLo) or lo <= x, and x <= hi; NaN x is outside. */
@inline
function withinLanes(x: v128, lo: v128, hi: v128, openLo: bool): v128 {
  return v128.and(openLo ? f64x2.gt(x, lo) : f64x2.ge(x, lo), f64x2.le(x, hi));
}

/**
 * p[i] = p[i] * (x[i] within the bounds ? 1 : 0) over f32[n] (x at q): the multiply keeps the
 * loop's bits (g * 0 is -0 for a negative g and NaN for an infinite one). The bounds are compared
 * in f64, as the loop compares a float32 element with a float64 bound.
 */
export function passWithinF32(p: usize, q: usize, n: i32, lo: f64, hi: f64, openLo: bool): void {
  const vlo = f64x2.splat(lo);
  const vhi = f64x2.splat(hi);
  const one = f32x4.splat(1);
  const end = p + (<usize>(n & ~3) << 2);
  const d = q - p;
  for (let r = p; r < end; r += 16) {
    const x = v128.load(r + d);
    // Each f64 lane's mask is all ones or all zeros, so its low 32 bits are the f32 lane's mask.
    const mask = v128.shuffle<i32>(withinLanes(lowF64(x), vlo, vhi, openLo), withinLanes(highF64(x), vlo, vhi, openLo), 0, 2, 4, 6);
    v128.store(r, f32x4.mul(v128.load(r), v128.and(mask, one)));
  }
  for (let i = n & ~3; i < n; i++) {
    const o = <usize>i << 2;
    const x = <f64>load<f32>(q + o);
    const inside = (openLo ? x > lo : x >= lo) && x <= hi;
    store<f32>(p + o, load<f32>(p + o) * (inside ? <f32>1 : <f32>0));
  }
}

export function passWithinF64(p: usize, q: usize, n: i32, lo: f64, hi: f64, openLo: bool): void {
  const vlo = f64x2.splat(lo);
  const vhi = f64x2.splat(hi);
  const one = f64x2.splat(1);
  const end = p + (<usize>(n & ~1) << 3);
  const d = q - p;
  for (let r = p; r < end; r += 16) v128.store(r, f64x2.mul(v128.load(r), v128.and(withinLanes(v128.load(r + d), vlo, vhi, openLo), one)));
  if (n & 1) {
    const o = <usize>(n - 1) << 3;
    const x = load<f64>(q + o);
    const inside = (openLo ? x > lo : x >= lo) && x <= hi;
    store<f64>(p + o, load<f64>(p + o) * (inside ? 1.0 : 0.0));
  }
}
