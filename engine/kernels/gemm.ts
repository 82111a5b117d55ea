export type FloatArray = Float32Array | Float64Array;

/**
 * C[M,N] (+)= op(A)[M,K] * op(B)[K,N], row-major with explicit offsets. op(A) = A or A^T
 * (A stored [K,M] when transposed), likewise B. Reference kernel: loop orders are chosen so the
 * innermost loop walks contiguous memory; the fast packed kernels must agree with it.
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  accumulate: boolean,
): void {
  if (!accumulate) C.fill(0, cOff, cOff + M * N);
  if (!transA && !transB) {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * N;
      const ai = aOff + i * K;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k]!;
        if (a === 0) continue;
        const bk = bOff + k * N;
        for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + a * B[bk + j]!;
      }
    }
  } else if (!transA && transB) {
    for (let i = 0; i < M; i++) {
      const ai = aOff + i * K;
      const ci = cOff + i * N;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[ai + k]! * B[bj + k]!;
        C[ci + j] = C[ci + j]! + acc;
      }
    }
  } else if (transA && !transB) {
    for (let k = 0; k < K; k++) {
      const ak = aOff + k * M;
      const bk = bOff + k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i]!;
        if (a === 0) continue;
        const ci = cOff + i * N;
        for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + a * B[bk + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * N;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[aOff + k * M + i]! * B[bj + k]!;
        C[ci + j] = C[ci + j]! + acc;
      }
    }
  }
}
