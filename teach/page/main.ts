/**
 * The teaching page: wires the DOM to teach/lesson.ts and teach/decoy.ts. Every number on the page
 * comes from the library's recorded tape; `window.__teach` exposes them to the browser spec.
 */
import { engine, kernelStatus, ready } from '../../index.js';
import { bitmapToInput, gather, loadDigitModel, parseDigits, split } from '../digits.js';
import { buildComposite, canonized, compareCanonizer, DEFAULT_PARAMS, explain, fieldsOf, PRESETS, validate, type Explanation, type RuleParams } from '../lesson.js';
import { eglHeatmap, eglImage, eglStep, parameterSnapshot, startEgl, type EglState } from '../decoy.js';
import { el, fmt, heatFigure, inkCanvas, lossCurve, rgbCanvas } from './draw.js';
import { PANEL_TEXT, RULE_TEXT } from './text.js';

type Side = 'a' | 'b';
const $ = (id: string) => document.getElementById(id)!;

const state = {
  input: new Float32Array(64) as Float32Array<ArrayBufferLike>,
  inputLabel: '',
  params: { a: { ...DEFAULT_PARAMS }, b: { ...DEFAULT_PARAMS, composite: 'epsilon_plus_flat' } } as Record<Side, RuleParams>,
  exp: {} as Partial<Record<Side, Explanation>>,
  selected: 0,
  step: 0,
  egl: null as EglState | null,
  eglStart: null as Float32Array | null,
};

const hook = { ready: false, errors: [] as string[], state, explanations: state.exp, eglHistory: [] as unknown[], weightsChanged: false, message: '' };
(window as unknown as { __teach: typeof hook }).__teach = hook;

let model: ReturnType<typeof loadDigitModel>;
let view: ReturnType<typeof canonized>;

async function bytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`could not load ${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function say(msg: string): void {
  $('status').textContent = msg;
  hook.message = msg;
}

// ---- panel 1: the input --------------------------------------------------------------------

function setInput(x: Float32Array, label: string): void {
  state.input = x;
  state.inputLabel = label;
  explainBoth();
}

function buildInputPanel(examples: { x: Float32Array; y: number }[]): void {
  const picker = $('picker');
  examples.forEach((e, i) => {
    const b = el('button', { type: 'button', 'aria-label': `held-out digit ${e.y}`, 'data-digit': String(e.y) }, inkCanvas(e.x, 8, 8, 4, `digit ${e.y}`), String(e.y));
    b.addEventListener('click', () => setInput(e.x, `held-out digit (label ${e.y})`));
    picker.append(b);
    if (i === 0) state.input = e.x;
  });
  const pad = $('pad') as HTMLCanvasElement;
  const ctx = pad.getContext('2d')!;
  ctx.lineCap = ctx.lineJoin = 'round';
  let drawing = false;
  const at = (ev: PointerEvent) => {
    const r = pad.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * 32, ((ev.clientY - r.top) / r.height) * 32] as const;
  };
  pad.addEventListener('pointerdown', (ev) => {
    drawing = true;
    pad.setPointerCapture(ev.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(ev));
  });
  pad.addEventListener('pointermove', (ev) => {
    if (!drawing) return;
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#000';
    ctx.lineTo(...at(ev));
    ctx.stroke();
  });
  pad.addEventListener('pointerup', () => {
    drawing = false;
    useDrawing();
  });
  $('clear').addEventListener('click', () => {
    ctx.clearRect(0, 0, 32, 32);
    $('pad-error').textContent = '';
  });
  $('use-drawing').addEventListener('click', useDrawing);
  function useDrawing(): void {
    const px = ctx.getImageData(0, 0, 32, 32).data;
    const ink = new Float32Array(1024);
    for (let i = 0; i < 1024; i++) ink[i] = px[i * 4 + 3]! / 255;
    const x = bitmapToInput(ink);
    if (!x) {
      $('pad-error').textContent = 'The canvas is blank: draw a digit first (the last explanation stays).';
      return;
    }
    $('pad-error').textContent = '';
    setInput(x, 'your drawing');
  }
}

// ---- panel 4: composites and their fields --------------------------------------------------

const FIELDS: (keyof RuleParams)[] = ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'stabilizer', 'zeroBias'];

function buildRuleForm(side: Side): void {
  const form = $(`form-${side}`);
  const select = el('select', { id: `composite-${side}`, 'aria-label': `composite ${side.toUpperCase()}` });
  for (const p of PRESETS) select.append(el('option', { value: p }, p));
  select.value = state.params[side].composite;
  form.append(el('label', { for: `composite-${side}` }, 'composite'), select);
  for (const f of FIELDS) {
    const id = `${f}-${side}`;
    const input = f === 'zeroBias' ? el('input', { id, type: 'checkbox' }) : el('input', { id, type: 'text', inputmode: 'decimal', value: String(state.params[side][f]), 'aria-describedby': `${id}-error` });
    form.append(el('div', { class: 'field', 'data-field': f }, el('label', { for: id }, f === 'zeroBias' ? 'zero_params = bias' : f), input, el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' })));
    input.addEventListener(f === 'zeroBias' ? 'change' : 'input', () => readForm(side));
  }
  select.addEventListener('change', () => readForm(side));
  showFields(side);
}

function showFields(side: Side): void {
  const fields = fieldsOf(state.params[side].composite);
  for (const div of $(`form-${side}`).querySelectorAll<HTMLElement>('.field')) div.hidden = !fields.includes(div.dataset.field as keyof RuleParams);
  $(`rule-text-${side}`).textContent = RULE_TEXT[state.params[side].composite] ?? '';
}

function readForm(side: Side): void {
  const p: RuleParams = { ...state.params[side] };
  p.composite = ($(`composite-${side}`) as HTMLSelectElement).value;
  for (const f of FIELDS) {
    const input = $(`${f}-${side}`) as HTMLInputElement;
    if (f === 'zeroBias') p.zeroBias = input.checked;
    else (p[f] as number) = input.value.trim() === '' ? NaN : Number(input.value);
  }
  state.params[side] = p;
  showFields(side);
  explainSide(side);
  renderStory();
  renderTape();
}

function explainSide(side: Side): void {
  const p = state.params[side];
  const errors = validate(p);
  for (const f of FIELDS) {
    const input = $(`${f}-${side}`);
    const msg = errors[f] ?? '';
    $(`${f}-${side}-error`).textContent = msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  if (Object.keys(errors).length) return; // the last good explanation stays on screen
  try {
    const x = new engine.Tensor(state.input, [1, 1, 8, 8]);
    state.exp[side] = explain(view, x, buildComposite(p));
  } catch (err) {
    $(`composite-${side}`).parentElement!.querySelector('.form-error')?.remove();
    $(`form-${side}`).append(el('p', { class: 'form-error', role: 'alert' }, String((err as Error).message)));
    return;
  }
  renderSide(side);
}

function renderSide(side: Side): void {
  const e = state.exp[side]!;
  const t = e.ledger.totals;
  const out = $(`result-${side}`);
  out.replaceChildren(
    heatFigure(e.relevance, 8, 8, 20, `relevance at the input, ${e.composite}, class ${e.target}`),
    el(
      'table',
      { class: 'totals' },
      el('tr', {}, el('th', {}, 'at the output (seed)'), el('td', { 'data-k': 'seed' }, fmt(t.seed))),
      el('tr', {}, el('th', {}, 'at the input'), el('td', { 'data-k': 'input' }, fmt(t.input))),
      el('tr', {}, el('th', {}, 'absorbed by bias'), el('td', {}, fmt(t.bias))),
      el('tr', {}, el('th', {}, 'absorbed by stabiliser'), el('td', {}, fmt(t.stabilizer))),
      el('tr', {}, el('th', {}, 'time'), el('td', { class: 'timing' }, `${e.milliseconds.toFixed(1)} ms`)),
    ),
  );
  out.dataset.inputTotal = String(t.input);
}

function explainBoth(): void {
  $('input-view').replaceChildren(inkCanvas(state.input, 8, 8, 16, 'the input digit'), el('p', {}, state.inputLabel));
  explainSide('a');
  explainSide('b');
  const e = state.exp.a;
  if (e) {
    const bars = $('logits');
    bars.replaceChildren(...e.logits.map((v, k) => el('div', { class: k === e.target ? 'bar top' : 'bar' }, el('span', {}, String(k)), el('meter', { min: '-10', max: '20', value: String(v), 'aria-label': `logit ${k}` }), el('span', {}, v.toFixed(2)))));
  }
  state.step = 0;
  renderTape();
  renderStory();
  renderCanonizer();
}

// ---- panel 2: the tape ---------------------------------------------------------------------

function renderTape(): void {
  const e = state.exp.a;
  if (!e) return;
  const list = $('tape-list');
  list.replaceChildren(
    ...e.layers.map((l, i) => {
      const b = el('button', { type: 'button', class: i === state.selected ? 'node selected' : 'node', 'aria-pressed': String(i === state.selected) }, `${l.index}. ${l.key} `, el('small', {}, `${l.type} → ${l.rule}`));
      b.addEventListener('click', () => {
        state.selected = i;
        renderTape();
      });
      return el('li', {}, b);
    }),
  );
  const l = e.layers[Math.min(state.selected, e.layers.length - 1)]!;
  $('tape-detail').replaceChildren(
    el('h3', {}, `${l.key} (${l.type})`),
    el(
      'dl',
      {},
      el('dt', {}, 'op kind'), el('dd', {}, l.kind),
      el('dt', {}, 'input shapes'), el('dd', {}, l.inputShapes.map((s) => `[${s.join(', ')}]`).join(', ')),
      el('dt', {}, 'output shape'), el('dd', {}, `[${l.outputShape.join(', ')}]`),
      el('dt', {}, 'rule'), el('dd', { class: 'rule' }, l.rule),
      el('dt', {}, 'matched entry'), el('dd', {}, l.matched),
      el('dt', {}, 'relevance arriving (out)'), el('dd', {}, fmt(l.relevanceOut)),
      el('dt', {}, 'relevance passed on (in)'), el('dd', {}, fmt(l.relevanceIn)),
    ),
    el('p', { class: 'explain' }, RULE_TEXT[l.rule] ?? ''),
  );
}

// ---- panel 3: the backward, layer by layer ---------------------------------------------------

function renderStory(): void {
  const e = state.exp.a;
  if (!e) return;
  const order = [...e.layers].reverse(); // the backward runs from the output to the input
  state.step = Math.max(0, Math.min(state.step, order.length));
  const atInput = state.step === order.length;
  $('story-pos').textContent = atInput ? `input (step ${state.step + 1} of ${order.length + 1})` : `step ${state.step + 1} of ${order.length + 1}: ${order[state.step]!.key}`;
  const body = $('story-body');
  if (atInput) {
    body.replaceChildren(heatFigure(e.relevance, 8, 8, 20, 'relevance at the input pixels'), el('p', {}, `Sum at the input: ${fmt(e.ledger.totals.input)} of the seed's ${fmt(e.ledger.totals.seed)}.`));
  } else {
    const l = order[state.step]!;
    const [c, h, w] = l.shape;
    const summed = new Float32Array(h * w);
    for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) summed[i]! += l.map[k * h * w + i]!;
    const row = e.ledger.rows.find((r) => r.index === l.index);
    const figs: HTMLElement[] = [];
    if (h > 1) {
      figs.push(heatFigure(summed, h, w, 16, `relevance arriving at ${l.key}, summed over ${c} channels`));
      const chans = el('div', { class: 'channels' });
      for (let k = 0; k < c; k++) chans.append(heatFigure(l.map.subarray(k * h * w, (k + 1) * h * w), h, w, 5, `channel ${k}`));
      figs.push(el('details', {}, el('summary', {}, `per channel (${c})`), chans));
    } else {
      figs.push(heatFigure(l.map, 1, c, Math.max(3, Math.floor(320 / c)), `relevance arriving at ${l.key} (${c} units)`));
    }
    body.replaceChildren(
      ...figs,
      el('p', {}, `${l.type} with rule ${l.rule} (${l.matched}).`),
      row
        ? el('div', { class: 'scroll' }, el(
            'table',
            { class: 'ledger-row' },
            el('tr', {}, ...['in (arriving)', 'out (passed on)', 'bias', 'stabiliser / rest', 'status'].map((s) => el('th', {}, s))),
            el('tr', {}, el('td', {}, fmt(row.arriving)), el('td', {}, fmt(row.passed)), el('td', {}, row.bias === null ? 'n/a' : fmt(row.bias)), el('td', {}, fmt(row.rest)), el('td', { class: `status-${row.status}` }, row.status)),
          ))
        : el('p', {}, 'No ledger row: this layer is not on the input path.'),
    );
  }
  const ledger = $('ledger');
  ledger.replaceChildren(
    el('tr', {}, ...['layer', 'rule', 'in', 'out', 'bias', 'stabiliser / rest', 'status'].map((s) => el('th', {}, s))),
    ...e.ledger.rows.map((r) => el('tr', {}, el('td', {}, r.key), el('td', {}, r.rule), el('td', {}, fmt(r.arriving)), el('td', {}, fmt(r.passed)), el('td', {}, r.bias === null ? 'n/a' : fmt(r.bias)), el('td', {}, fmt(r.rest)), el('td', { class: `status-${r.status}` }, r.status))),
  );
}

// ---- panel 5: the canonizer ----------------------------------------------------------------

const WHY_UNCHANGED: Record<string, string> = {
  ZBox: 'a positive per-channel scale cancels in z_ij / z_j, and the bias enters the x, low and high terms with opposite signs and cancels',
  Flat: 'Flat ignores weights, inputs and bias',
  gradient: 'the merged network is the same function, so its gradient is the same',
};

function renderCanonizer(): void {
  const p = state.params.a;
  if (Object.keys(validate(p)).length) return;
  const c = compareCanonizer(model, new engine.Tensor(state.input, [1, 1, 8, 8]), buildComposite(p));
  const firstRule = state.exp.a?.layers[0]?.rule ?? 'gradient';
  $('canon-body').replaceChildren(
    el('div', { class: 'two' }, el('div', {}, el('h3', {}, 'recorded layers, model as trained'), el('ol', {}, ...c.layersBefore.map((s) => el('li', {}, s)))), el('div', {}, el('h3', {}, 'after merging the batch norm'), el('ol', {}, ...c.layersAfter.map((s) => el('li', {}, s))))),
    el('div', { class: 'two' }, heatFigure(c.relevanceBefore, 8, 8, 14, `${p.composite}, batch norm kept (Pass rule)`), heatFigure(c.relevanceAfter, 8, 8, 14, `${p.composite}, batch norm merged`)),
    el(
      'table',
      { class: 'totals' },
      el('tr', {}, el('th', {}, 'max |logit difference|'), el('td', {}, fmt(c.logitDifference))),
      el('tr', {}, el('th', {}, 'max |gradient difference|'), el('td', {}, fmt(c.gradientDifference))),
      el('tr', {}, el('th', {}, 'max |LRP relevance difference|'), el('td', {}, fmt(c.relevanceDifference))),
      el('tr', {}, el('th', {}, 'model fingerprint before / after'), el('td', { 'data-k': 'fingerprint' }, `${c.fingerprintBefore} / ${c.fingerprintAfter} ${c.fingerprintBefore === c.fingerprintAfter ? '(unchanged)' : '(CHANGED)'}`)),
    ),
    el(
      'p',
      { class: 'explain', 'data-k': 'canon-verdict' },
      c.relevanceDifference <= 1e-5 * Math.max(...c.relevanceBefore.map(Math.abs))
        ? `With ${p.composite} the relevance is unchanged (the first conv's rule is ${firstRule}): ${WHY_UNCHANGED[firstRule] ?? 'the merge does not change what this rule computes here'}. Pick epsilon_plus for composite A to see a rule where the merged bias changes the relevance.`
        : `With ${p.composite} the relevance changes: the rule sees the merged conv's bias (b − μ)·γ/σ + β, where before the batch norm only passed relevance through.`,
    ),
  );
}

// ---- panel 6: explanation-guided learning --------------------------------------------------

function renderEgl(): void {
  const s = state.egl!;
  const heat = eglHeatmap(s);
  $('egl-body').replaceChildren(
    el('div', { class: 'two' }, el('figure', { class: 'imgfig' }, rgbCanvas(eglImage(s), 24, 6, 'training image with the corner patch'), el('figcaption', {}, 'image (class is the shape; the corner patch gives it away)')), heatFigure(heat, 24, 24, 6, 'relevance (epsilon_plus_flat), colour channels summed')),
    lossCurve(s.history.map((h) => h.loss), 'loss per step'),
    el('p', { 'data-k': 'egl' }, s.history.length ? `step ${s.history.length}: loss ${fmt(s.history.at(-1)!.loss)} = task ${fmt(s.history.at(-1)!.task)} + λ·${fmt(s.history.at(-1)!.penalty)} (share of |relevance| on the patch)` : 'No step yet: the model was trained plainly and reads the patch.'),
  );
  hook.eglHistory = s.history;
  hook.weightsChanged = parameterSnapshot(s.model).some((v, i) => v !== state.eglStart![i]);
}

function eglSteps(n: number): void {
  const s = state.egl!;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) eglStep(s);
  say(`${n} EGL step(s) in ${(performance.now() - t0).toFixed(0)} ms`);
  renderEgl();
}

// ---- start ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const [id, text] of Object.entries(PANEL_TEXT)) {
    const t = document.getElementById(`text-${id}`);
    if (t) t.innerHTML = text;
  }
  await ready();
  const [weights, digits, decoy] = await Promise.all([bytes('data/digit-cnn.safetensors'), bytes('data/digits.safetensors'), bytes('data/decoy-cnn.safetensors')]);
  model = loadDigitModel(weights);
  view = canonized(model);
  const all = parseDigits(digits);
  const held = gather(all, split(all.y.length).heldOut);
  const examples: { x: Float32Array; y: number }[] = [];
  for (let d = 0; d < 10; d++) {
    const k = held.y.indexOf(d);
    examples.push({ x: (held.x.data as Float32Array).slice(k * 64, k * 64 + 64), y: d });
  }
  buildInputPanel(examples);
  buildRuleForm('a');
  buildRuleForm('b');
  state.inputLabel = `held-out digit (label ${examples[0]!.y})`;
  explainBoth();
  $('story-prev').addEventListener('click', () => ((state.step -= 1), renderStory()));
  $('story-next').addEventListener('click', () => ((state.step += 1), renderStory()));
  state.egl = startEgl(decoy);
  state.eglStart = parameterSnapshot(state.egl.model);
  $('egl-step').addEventListener('click', () => eglSteps(1));
  $('egl-five').addEventListener('click', () => eglSteps(5));
  renderEgl();
  const k = kernelStatus();
  say(`Ready. Kernels: ${k.backend}. One explanation of composite A took ${state.exp.a?.milliseconds.toFixed(1)} ms.`);
  hook.ready = true;
}

main().catch((err: unknown) => {
  say(`The page could not start: ${(err as Error).message}`);
  hook.errors.push(String(err));
  console.error(err);
});
