/** Drawing helpers: heatmaps in zennit's bwr colour map (symmetric around 0), legends, the loss curve. */
import { image } from '../../index.js';

const BWR = image.palette('bwr');

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export const fmt = (v: number, digits = 4): string => (Math.abs(v) < 1e-12 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(digits));

/** Largest |value|: the heatmap is scaled to [-bound, bound] so white is exactly 0. */
export function bound(values: ArrayLike<number>): number {
  let b = 0;
  for (let i = 0; i < values.length; i++) b = Math.max(b, Math.abs(values[i]!));
  return b || 1;
}

/** A canvas showing an h x w plane; `scale` pixels per cell. */
export function heatCanvas(values: ArrayLike<number>, h: number, w: number, scale: number, label: string, b = bound(values)): HTMLCanvasElement {
  const c = el('canvas', { width: String(w), height: String(h), role: 'img', 'aria-label': label, class: 'heat' });
  c.style.width = `${w * scale}px`;
  c.style.height = `${h * scale}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const k = Math.max(0, Math.min(255, Math.round(128 + (values[i]! / b) * 127)));
    img.data.set([BWR[k * 3]!, BWR[k * 3 + 1]!, BWR[k * 3 + 2]!, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** A grey image (0 white .. 1 black ink) for the 8x8 input. */
export function inkCanvas(values: ArrayLike<number>, h: number, w: number, scale: number, label: string): HTMLCanvasElement {
  const c = el('canvas', { width: String(w), height: String(h), role: 'img', 'aria-label': label, class: 'heat' });
  c.style.width = `${w * scale}px`;
  c.style.height = `${h * scale}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const g = 255 - Math.round(Math.max(0, Math.min(1, values[i]!)) * 255);
    img.data.set([g, g, g, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

export function rgbCanvas(rgba: Uint8ClampedArray, size: number, scale: number, label: string): HTMLCanvasElement {
  const c = el('canvas', { width: String(size), height: String(size), role: 'img', 'aria-label': label, class: 'heat' });
  c.style.width = c.style.height = `${size * scale}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(size, size);
  img.data.set(rgba);
  ctx.putImageData(img, 0, 0);
  return c;
}

/** The colour scale of a heatmap: -bound (blue) .. 0 (white) .. +bound (red). */
export function legend(b: number): HTMLElement {
  const bar = el('span', { class: 'legend-bar', 'aria-hidden': 'true' });
  return el('div', { class: 'legend' }, el('span', {}, fmt(-b, 3)), bar, el('span', {}, `+${fmt(b, 3)}`), el('span', { class: 'legend-note' }, 'blue: against, white: 0, red: for the class'));
}

/** A heatmap with its legend and caption. */
export function heatFigure(values: ArrayLike<number>, h: number, w: number, scale: number, caption: string, b = bound(values)): HTMLElement {
  return el('figure', { class: 'heatfig' }, heatCanvas(values, h, w, scale, caption, b), legend(b), el('figcaption', {}, caption));
}

/** Loss per step as an inline SVG polyline with axis labels. */
export function lossCurve(values: readonly number[], label: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 320;
  const H = 140;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.classList.add('curve');
  const lo = Math.min(0, ...values);
  const hi = Math.max(1e-9, ...values);
  const x = (i: number) => 36 + (i / Math.max(1, values.length - 1)) * (W - 46);
  const y = (v: number) => H - 20 - ((v - lo) / (hi - lo)) * (H - 34);
  const line = (x1: number, y1: number, x2: number, y2: number) => {
    const l = document.createElementNS(ns, 'line');
    for (const [k, v] of Object.entries({ x1, y1, x2, y2 })) l.setAttribute(k, String(v));
    l.setAttribute('class', 'axis');
    svg.append(l);
  };
  const text = (tx: number, ty: number, s: string) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(tx));
    t.setAttribute('y', String(ty));
    t.textContent = s;
    svg.append(t);
  };
  line(36, 10, 36, H - 20);
  line(36, H - 20, W - 10, H - 20);
  if (!values.length) {
    text(60, H / 2, 'no step yet: press "One EGL step"');
    return svg;
  }
  text(2, 16, fmt(hi, 2));
  text(2, H - 22, fmt(lo, 2));
  text(W - 60, H - 4, `step ${values.length}`);
  if (values.length) {
    const p = document.createElementNS(ns, 'polyline');
    p.setAttribute('points', values.map((v, i) => `${x(i)},${y(v)}`).join(' '));
    p.setAttribute('class', 'loss');
    svg.append(p);
    for (let i = 0; i < values.length; i++) {
      const c = document.createElementNS(ns, 'circle');
      c.setAttribute('cx', String(x(i)));
      c.setAttribute('cy', String(y(values[i]!)));
      c.setAttribute('r', '2.5');
      svg.append(c);
    }
  }
  return svg;
}
