/**
 * zennit's colour-map specification language (CMSL) and its 8-bit palettes.
 *
 *   cmsl  := node ("," node)+
 *   node  := [index ":"] rgb
 *   index := 1-2 hex digits (one digit is doubled: `8` = 0x88)
 *   rgb   := 3 hex digits (each doubled: `f00` = ff0000) | 6 hex digits
 *
 * Whitespace is allowed between tokens. Palettes are computed with the exact floating-point
 * steps of zennit's `ColorMap.palette` (zennit/cmap.py), so they match zennit byte for byte.
 * The one deliberate difference: a trailing comma (which zennit silently accepts) is an error,
 * because the grammar above does not allow it and it usually means a colour went missing.
 */
import type { Rgb } from './types.js';
import { ArgumentError } from '../engine/errors.js';

export class ColorMapError extends ArgumentError {
  override name = 'ColorMapError';
  constructor(
    readonly source: string,
    readonly what: string,
    readonly position: number,
  ) {
    super(`bad colour map '${source}': ${what} at position ${position}`, 'ERR_COLOR_MAP');
  }
}

/** One parsed node; `index` is null when the source gave none and it must be spaced evenly. */
export interface ColorNode {
  readonly index: number | null;
  readonly color: Rgb;
}

/** Built-in maps, same names and sources as zennit's `CMAPS`. */
export const CMAPS: Readonly<Record<string, string>> = Object.freeze({
  gray: '000,fff',
  wred: 'fff,f00',
  wblue: 'fff,00f',
  hot: '000,f00,ff0,fff',
  cold: '000,00f,0ff',
  coldnhot: '0ff,00f,80:000,f00,ff0,fff',
  bwr: '00f,80:fff,f00',
  france: '0055a4,80:fff,ef4135',
  seismic: '0000d0,80:d0d0d0,d00000',
  coolio: '00d0d0,80:d0d0d0,d000d0',
  coleus: '00d000,80:d0d0d0,d000d0',
});

export const DEFAULT_CMAP = 'bwr';

const isHex = (ch: string | undefined): boolean => ch !== undefined && /^[0-9a-fA-F]$/.test(ch);
const isSpace = (ch: string | undefined): boolean => ch !== undefined && /^\s$/.test(ch);
const show = (ch: string): string => JSON.stringify(ch).replace(/^"|"$/g, "'");

function hexColor(run: string): Rgb {
  const h = run.length === 3 ? [...run].map((c) => c + c) : [run.slice(0, 2), run.slice(2, 4), run.slice(4, 6)];
  return [parseInt(h[0]!, 16), parseInt(h[1]!, 16), parseInt(h[2]!, 16)];
}

/**
 * Parses CMSL into nodes without resolving missing indices. Lexing takes a maximal hex run and
 * decides index-vs-colour by whether a ':' follows, which rejects exactly what zennit's regex
 * lexer rejects but can say *why* (e.g. "5 hex digits").
 */
export function parseColorMap(source: string): ColorNode[] {
  if (typeof source !== 'string') throw new ColorMapError(String(source), 'source is not a string', 0);
  const n = source.length;
  let i = 0;
  const fail = (what: string, pos: number): never => {
    throw new ColorMapError(source, what, pos);
  };
  const skipSpace = (): void => {
    while (isSpace(source[i])) i++;
  };
  const hexRun = (): string => {
    const s = i;
    while (isHex(source[i])) i++;
    return source.slice(s, i);
  };
  const found = (): string => (i >= n ? 'end of input' : show(source[i]!));

  const nodes: ColorNode[] = [];
  let lastIndex = -1;
  for (;;) {
    skipSpace();
    let start = i;
    let run = hexRun();
    if (run.length === 0) {
      fail(`expected ${nodes.length === 0 ? 'a colour or an index' : "a colour or an index after ','"} but found ${found()}`, i);
    }
    skipSpace();
    let index: number | null = null;
    if (source[i] === ':') {
      if (run.length > 2) fail(`index '${run}' has ${run.length} hex digits, expected 1 or 2`, start);
      index = parseInt(run.length === 1 ? run + run : run, 16);
      // zennit only orders explicit indices against each other (the first colour's included).
      if (index < lastIndex) {
        fail(`index ${run} (${index}) is below the previous index (${lastIndex}); indices must ascend`, start);
      }
      lastIndex = index;
      i++;
      skipSpace();
      start = i;
      run = hexRun();
      if (run.length === 0) fail(`expected a colour after ':' but found ${found()}`, i);
    }
    if (run.length !== 3 && run.length !== 6) {
      const hint = index === null && run.length <= 2 ? " (an index needs ':')" : '';
      fail(`colour '${run}' has ${run.length} hex digit${run.length === 1 ? '' : 's'}, expected 3 or 6${hint}`, start);
    }
    if (nodes.length === 0 && index === null) lastIndex = 0;
    nodes.push({ index, color: hexColor(run) });
    skipSpace();
    if (i >= n) break;
    if (source[i] !== ',') fail(`expected ',' between colours but found ${found()}`, i);
    i++;
  }
  if (nodes.length < 2) fail(`at least 2 colours are needed, found ${nodes.length}`, n);
  return nodes;
}

/**
 * zennit's `_make_palette`: pins the first colour to 0 (and repeats it at its own index if that is
 * above 0), puts an unindexed last colour at 255, spaces unindexed colours evenly with integer
 * truncation, and adds a sentinel at 256 holding the last colour.
 */
function resolveNodes(nodes: readonly ColorNode[]): { indices: number[]; colors: Rgb[] } {
  const indices: number[] = [0];
  const colors: Rgb[] = [nodes[0]!.color];
  if (nodes[0]!.index !== null && nodes[0]!.index > 0) {
    indices.push(nodes[0]!.index);
    colors.push(nodes[0]!.color);
  }
  const rest = nodes.slice(1);
  let pending: Rgb[] = [];
  rest.forEach((node, k) => {
    let index = node.index;
    if (index === null) {
      if (k < rest.length - 1) {
        pending.push(node.color);
        return;
      }
      index = 255;
    }
    if (pending.length > 0) {
      // np.linspace(0, 1, m + 2)[1:-1] computes j * (1 / (m + 1)); reproduce that exactly.
      const step = 1 / (pending.length + 1);
      const prev = indices[indices.length - 1]!;
      pending.forEach((color, j) => {
        const alpha = (j + 1) * step;
        indices.push(Math.trunc(prev * (1 - alpha) + index * alpha));
        colors.push(color);
      });
      pending = [];
    }
    indices.push(index);
    colors.push(node.color);
  });
  indices.push(256);
  colors.push(colors[colors.length - 1]!);
  return { indices, colors };
}

/** numpy's `rint`: round half to even. */
function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export class ColorMap {
  readonly source: string;
  readonly nodes: readonly ColorNode[];
  /** Resolved node positions on 0..255 plus zennit's sentinel 256. */
  readonly indices: readonly number[];
  readonly colors: readonly Rgb[];
  private readonly cache = new Map<number, Uint8Array>();

  constructor(source: string) {
    this.source = source;
    this.nodes = Object.freeze(parseColorMap(source));
    const { indices, colors } = resolveNodes(this.nodes);
    this.indices = Object.freeze(indices);
    this.colors = Object.freeze(colors);
  }

  /**
   * zennit's `ColorMap.__call__` for one scalar: x in [0,1] (clipped) to RGB in [0,1], linearly
   * interpolated between nodes. Kept in float so `palette` can round exactly where zennit does.
   */
  at(x: number): [number, number, number] {
    const v = Math.min(Math.max(x * 255, 0), 255);
    const ind = this.indices;
    // searchsorted(indices[:-1], v, side='right'): first k with indices[k] > v.
    let k = 0;
    while (k < ind.length - 1 && ind[k]! <= v) k++;
    const lo = ind[k - 1]!;
    const alpha = (v - lo) / (ind[k]! - lo);
    const a = this.colors[k - 1]!;
    const b = this.colors[k]!;
    return [
      (a[0] * (1 - alpha) + b[0] * alpha) / 255,
      (a[1] * (1 - alpha) + b[1] * alpha) / 255,
      (a[2] * (1 - alpha) + b[2] * alpha) / 255,
    ];
  }

  /**
   * The 256-entry palette as 768 bytes (RGB per entry). `level` is zennit's: entry i samples the
   * map at clip((t*level + 1)/2) with t = linspace(-1, 1, 256)[i], so level < 1 narrows the colour
   * range around the centre and level > 1 saturates earlier. Returns a fresh copy.
   */
  palette(level = 1): Uint8Array {
    return this.cachedPalette(level).slice();
  }

  /** Shared, cached palette for internal hot paths; never handed to callers who might write it. */
  cachedPalette(level = 1): Uint8Array {
    if (!Number.isFinite(level)) throw new RangeError(`colour map level must be finite, got ${level}`);
    const hit = this.cache.get(level);
    if (hit !== undefined) return hit;
    const out = new Uint8Array(256 * 3);
    const step = 2 / 255;
    for (let i = 0; i < 256; i++) {
      const t = (i === 255 ? 1 : i * step + -1) * level;
      const x = Math.min(Math.max((t + 1) / 2, 0), 1);
      const rgb = this.at(x);
      for (let c = 0; c < 3; c++) {
        // zennit: (x * 255).round(12).clip(0, 255).astype(uint8) -- the round(12) snaps values
        // like 254.99999999999997 up before the truncating cast.
        const v = rint(rgb[c]! * 255 * 1e12) / 1e12;
        out[i * 3 + c] = Math.trunc(Math.min(Math.max(v, 0), 255));
      }
    }
    this.cache.set(level, out);
    return out;
  }

  /** Palette entry `index` (0..255) at `level` as [r, g, b]. */
  color(index: number, level = 1): [number, number, number] {
    if (!Number.isInteger(index) || index < 0 || index > 255) {
      throw new RangeError(`palette index must be an integer in 0..255, got ${index}`);
    }
    const p = this.cachedPalette(level);
    return [p[index * 3]!, p[index * 3 + 1]!, p[index * 3 + 2]!];
  }
}

const compiled = new Map<string, ColorMap>();

/** A built-in name, CMSL source, or a ready `ColorMap`; compiled maps are cached by source. */
export function getColorMap(cmap: string | ColorMap = DEFAULT_CMAP): ColorMap {
  if (cmap instanceof ColorMap) return cmap;
  const source = Object.hasOwn(CMAPS, cmap) ? CMAPS[cmap]! : cmap;
  let cm = compiled.get(source);
  if (cm === undefined) {
    cm = new ColorMap(source);
    compiled.set(source, cm);
  }
  return cm;
}

/** zennit's `palette(cmap, level)`: 256 RGB entries as 768 bytes. */
export function palette(cmap: string | ColorMap = DEFAULT_CMAP, level = 1): Uint8Array {
  return getColorMap(cmap).palette(level);
}
