/**
 * The resident arena: cached convolution weights (parameter-cache values, never written again)
 * copied once into a SharedArrayBuffer that the workers read directly, so that a convolution does
 * not stage its weight on every call (from the weight's third use on: see `offset`).
 * Bump-allocated; replaced by an empty arena (a new generation, posted to each worker before its
 * next job) once half of it belongs to collected arrays; an arena full of live weights is kept and
 * what does not fit is staged as before.
 */

const MIB = 1024 * 1024;

/** The arena's size (virtual until written): ResNet-18's merged and clamped weights take ~90 MB. */
export const RESIDENT_BYTES = 256 * MIB;

/** Uses of a cached weight that stage it as any operand before it is copied into the arena. */
export const STAGED_USES = 2;

export class ResidentArena {
  buffer: SharedArrayBuffer | null = null;
  gen = 0;
  f32: Float32Array = new Float32Array(0);
  f64: Float64Array = new Float64Array(0);
  private used = 0;
  /** Bytes of the current arena whose arrays have been collected. */
  private dead = 0;
  private at = new WeakMap<object, number>();
  /** How often each array not (yet) in the arena was asked for. */
  private readonly sightings = new WeakMap<object, number>();
  private readonly gone =
    typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<{ gen: number; bytes: number }>(({ gen, bytes }) => {
          if (gen === this.gen) this.dead += bytes;
        })
      : null;

  /**
   * The element offset of `arr` in the resident arena (copying it there the first time), or -1 when
   * it does not fit. Only for arrays that are never written again.
   */
  offset(arr: Float32Array | Float64Array, capacity = RESIDENT_BYTES): number {
    const known = this.at.get(arr);
    if (known !== undefined) return known;
    // Staged, not copied in, at its first STAGED_USES uses: one explanation uses a rule's weight
    // twice (its forward and its input gradient), so a script that explains one input does not
    // hold a second copy of every rule weight (56 MiB for VGG-16's Gamma weights, at its peak);
    // from the next explanation on, the weight is read from the arena.
    const seen = (this.sightings.get(arr) ?? 0) + 1;
    if (seen <= STAGED_USES) {
      this.sightings.set(arr, seen);
      return -1;
    }
    const bytes = Math.ceil(arr.byteLength / 8) * 8;
    if (bytes > capacity / 4) return -1;
    // A new arena when half of this one belongs to arrays that are gone (the model they came from
    // was dropped; the old arena is freed once the workers adopt the new one). An arena full of live
    // weights is kept, and what does not fit is staged per call as before: replacing it would copy
    // the same weights over and over.
    const mostlyDead = this.dead > 0 && this.dead >= this.used / 2;
    const full = this.buffer !== null && this.used + bytes > capacity;
    if (full && !mostlyDead && this.buffer!.byteLength === capacity) return -1;
    if (this.buffer === null || this.buffer.byteLength !== capacity || full || mostlyDead) {
      let buffer: SharedArrayBuffer;
      try {
        buffer = new SharedArrayBuffer(capacity);
      } catch {
        return -1;
      }
      this.buffer = buffer;
      this.f32 = new Float32Array(buffer);
      this.f64 = new Float64Array(buffer);
      this.gen++;
      this.used = 0;
      this.dead = 0;
      this.at = new WeakMap();
    }
    const at = this.used / arr.BYTES_PER_ELEMENT;
    (arr instanceof Float32Array ? this.f32 : this.f64).set(arr, at);
    this.used += bytes;
    this.at.set(arr, at);
    this.gone?.register(arr, { gen: this.gen, bytes });
    return at;
  }
}
