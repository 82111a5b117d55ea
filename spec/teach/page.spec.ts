/**
 * The teaching page in headless Chromium (Debian's, via spec/support/browser.ts): it loads without
 * console errors, every panel renders, the numbers it shows are the library's numbers computed in
 * Node, parameters act at once, bad input is refused at the field, EGL steps train. Screenshots go
 * to .tmp/teach-screenshots/ (ignored) for a person to look at.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { attribution, engine } from '../../index.js';
import { buildTeach } from '../../scripts/teach-build.js';
import { loadDigitModel } from '../../teach/digits.js';
import { buildComposite, canonized, type RuleParams } from '../../teach/lesson.js';
import { launchChromium, serveStatic, watchConsole, type PageLog, type StaticServer } from '../support/browser.js';

// Page functions run in the browser; the specs compile without the DOM library.
declare const window: any;
declare const document: any;

const ROOT = new URL('../../', import.meta.url).pathname;
const SHOTS = join(ROOT, '.tmp', 'teach-screenshots');

interface Snapshot {
  input: number[];
  params: Record<'a' | 'b', RuleParams>;
  a: { relevance: number[]; target: number; seed: number; inputTotal: number; rows: number[]; ms: number };
  b: { relevance: number[]; target: number };
}

const snapshot = (page: Page): Promise<Snapshot> =>
  page.evaluate(() => {
    const t = (window as unknown as { __teach: any }).__teach;
    const a = t.state.exp.a;
    const b = t.state.exp.b;
    return {
      input: Array.from(t.state.input as Float32Array),
      params: JSON.parse(JSON.stringify(t.state.params)),
      a: { relevance: a.relevance, target: a.target, seed: a.ledger.totals.seed, inputTotal: a.ledger.totals.input, rows: a.ledger.rows.map((r: any) => r.passed), ms: a.milliseconds },
      b: { relevance: b.relevance, target: b.target },
    };
  });

const heatA = (page: Page) => page.$eval('#result-a canvas', (c) => (c as unknown as { toDataURL(): string }).toDataURL());

describe('teach: the page in headless Chromium', function () {
  this.timeout(120_000);
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let log: PageLog;
  const model = loadDigitModel(readFileSync(join(ROOT, 'teach/data/digit-cnn.safetensors')));

  /** The relevance the library computes in Node for the same model, input, composite and target. */
  const nodeRelevance = (input: number[], p: RuleParams, target: number): number[] => {
    const rec = attribution.recordForward(canonized(model), new engine.Tensor(Float32Array.from(input), [1, 1, 8, 8]));
    return Array.from(rec.attribute(attribution.oneHotSeed(rec.output, [target]), { composite: buildComposite(p) }).relevance.data, Number);
  };
  const expectClose = (a: number[], b: number[]) => {
    expect(a.length).to.equal(b.length);
    const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(worst).to.be.at.most(1e-6);
  };
  const setField = async (id: string, value: string) => {
    await page.fill(`#${id}`, value);
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const dist = await buildTeach(join(ROOT, '.tmp', 'teach-dist'));
    server = await serveStatic(dist);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    log = watchConsole(page);
    await page.goto(server.url);
    await page.waitForFunction(() => (window as any).__teach?.ready || (window as any).__teach?.errors.length, null, { timeout: 90_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("type-checks the page's DOM code (teach/page/tsconfig.json: the root config has no DOM library)", () => {
    let out = '';
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'teach/page/tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
    } catch (err) {
      out = String((err as { stdout?: string }).stdout ?? err);
    }
    // Only the page's own files: library files are checked by the root config, without the DOM library.
    expect(out.split('\n').filter((l) => l.startsWith('teach/'))).to.deep.equal([]);
  });

  it('loads with no console errors and every panel renders, each heatmap with its legend', async () => {
    expect(await page.evaluate(() => (window as any).__teach.errors)).to.deep.equal([]);
    expect(log.errors).to.deep.equal([]);
    expect(await page.$$eval('#picker button', (b) => b.length)).to.equal(10);
    expect(await page.$$eval('#logits .bar', (b) => b.length)).to.equal(10);
    expect(await page.$$eval('#tape-list li', (l) => l.length)).to.equal(9);
    expect(await page.textContent('#tape-detail')).to.match(/matched entry.*first-layer map: Convolution/s);
    for (const id of ['story-body', 'result-a', 'result-b', 'canon-body', 'egl-body']) {
      expect(await page.$$eval(`#${id} canvas.heat`, (c) => c.length), id).to.be.greaterThan(0);
    }
    expect(await page.$$eval('#ledger tr', (r) => r.length)).to.be.greaterThan(5);
    expect(await page.$$eval('#egl-body svg.curve', (s) => s.length)).to.equal(1);
    expect(await page.textContent('[data-k="fingerprint"]')).to.match(/\(unchanged\)/);
    expect(await page.textContent('[data-k="canon-verdict"]')).to.match(/epsilon_gamma_box the relevance is unchanged \(the first conv's rule is ZBox\)/);
    // Every heatmap outside the per-channel small multiples shows its colour scale.
    const [heat, legends] = await page.evaluate(() => [document.querySelectorAll('.heatfig canvas.heat').length, document.querySelectorAll('.heatfig .legend').length]);
    expect(legends).to.equal(heat);
    for (const t of ['input', 'tape', 'story', 'rules', 'canon', 'egl']) expect((await page.textContent(`#text-${t}`))!.length, t).to.be.greaterThan(100);
    await page.screenshot({ path: join(SHOTS, 'page-1280.png'), fullPage: true });
  });

  it('shows the relevance the library computes in Node for the same model and input (1e-6), for both composites and another digit', async () => {
    let s = await snapshot(page);
    expectClose(s.a.relevance, nodeRelevance(s.input, s.params.a, s.a.target));
    expectClose(s.b.relevance, nodeRelevance(s.input, s.params.b, s.b.target));
    await page.click('#picker button[data-digit="3"]');
    s = await snapshot(page);
    expect(s.a.target).to.equal(3);
    expectClose(s.a.relevance, nodeRelevance(s.input, s.params.a, s.a.target));
  });

  it('a parameter change recomputes the heatmap and the ledger at once', async () => {
    const before = await snapshot(page);
    const img = await heatA(page);
    await setField('gamma-a', '3');
    const after = await snapshot(page);
    expect(after.params.a.gamma).to.equal(3);
    expect(after.a.relevance).to.not.deep.equal(before.a.relevance);
    expect(after.a.rows).to.not.deep.equal(before.a.rows);
    expect(await heatA(page)).to.not.equal(img);
    expectClose(after.a.relevance, nodeRelevance(after.input, after.params.a, after.a.target));
    // Timings after warm-up, for the report (speed is measured, not asserted).
    const ms: number[] = [];
    for (const g of ['0.5', '1', '0.1', '0.25']) {
      await setField('gamma-a', g);
      ms.push((await snapshot(page)).a.ms);
    }
    console.log(`      explanation times in the page (epsilon_gamma_box, traced with ledger): ${ms.map((m) => m.toFixed(1)).join(', ')} ms`);
  });

  it('refuses bad parameters at the field and keeps the last good explanation', async () => {
    const good = await snapshot(page);
    const img = await heatA(page);
    const cases: [string, string, RegExp][] = [
      ['epsilon-a', '0', /epsilon must be > 0/],
      ['gamma-a', '-1', /gamma must be >= 0/],
      ['gamma-a', 'abc', /gamma must be a number, got NaN/],
      ['low-a', '2', /low must be < high/],
    ];
    for (const [id, value, msg] of cases) {
      const old = await page.inputValue(`#${id}`);
      await setField(id, value);
      expect(await page.textContent(`#${id}-error`)).to.match(msg);
      expect(await page.getAttribute(`#${id}`, 'aria-invalid')).to.equal('true');
      expect((await snapshot(page)).a.relevance).to.deep.equal(good.a.relevance);
      expect(await heatA(page)).to.equal(img);
      await setField(id, old);
      expect(await page.textContent(`#${id}-error`)).to.equal('');
    }
    await page.selectOption('#composite-b', 'epsilon_alpha2_beta1');
    const ab = await snapshot(page);
    expectClose(ab.b.relevance, nodeRelevance(ab.input, ab.params.b, ab.b.target));
    await setField('alpha-b', '3');
    expect(await page.textContent('#alpha-b-error')).to.match(/alpha - beta must be 1/);
    expect((await snapshot(page)).b.relevance).to.deep.equal(ab.b.relevance);
    await setField('beta-b', '2');
    const ab2 = await snapshot(page);
    expect(await page.textContent('#alpha-b-error')).to.equal('');
    expect(ab2.b.relevance).to.not.deep.equal(ab.b.relevance);
    expectClose(ab2.b.relevance, nodeRelevance(ab2.input, ab2.params.b, ab2.b.target));
    await page.locator('#panel-rules').screenshot({ path: join(SHOTS, 'alpha-beta.png') });
    // A blank canvas says so and keeps the explanation.
    await page.click('#clear');
    await page.click('#use-drawing');
    expect(await page.textContent('#pad-error')).to.match(/blank/);
    expect((await snapshot(page)).a.relevance).to.deep.equal(ab2.a.relevance);
  });

  it('explains a drawing made on the pad', async () => {
    const box = (await page.$eval('#pad', (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; }))!;
    await page.mouse.move(box.x + box.w * 0.5, box.y + box.h * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.w * 0.5, box.y + box.h * 0.85, { steps: 12 });
    await page.mouse.up();
    const s = await snapshot(page);
    expect(await page.textContent('#input-view')).to.contain('your drawing');
    expect(s.input.some((v) => v > 0)).to.equal(true);
    expectClose(s.a.relevance, nodeRelevance(s.input, s.params.a, s.a.target));
  });

  it('is usable from the keyboard: the story steps with Enter on its buttons', async () => {
    const before = await page.textContent('#story-pos');
    await page.focus('#story-next');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    const after = await page.textContent('#story-pos');
    expect(after).to.not.equal(before);
    expect(after).to.match(/^step 3 of/);
    await page.locator('#panel-story').screenshot({ path: join(SHOTS, 'story-step3.png') });
  });

  it('EGL steps change the weights and lower the loss', async () => {
    expect(await page.evaluate(() => (window as any).__teach.weightsChanged)).to.equal(false);
    await page.click('#egl-five');
    await page.waitForFunction(() => (window as any).__teach.eglHistory.length === 5, null, { timeout: 60_000 });
    const h: { loss: number; penalty: number }[] = await page.evaluate(() => (window as any).__teach.eglHistory);
    expect(h.at(-1)!.loss).to.be.lessThan(h[0]!.loss);
    expect(h.at(-1)!.penalty).to.be.lessThan(h[0]!.penalty);
    expect(await page.evaluate(() => (window as any).__teach.weightsChanged)).to.equal(true);
    expect(await page.$$eval('#egl-body polyline', (p) => p.length)).to.equal(1);
    await page.locator('#panel-egl').screenshot({ path: join(SHOTS, 'egl.png') });
  });

  it('fits a 390 px wide phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await page.screenshot({ path: join(SHOTS, 'page-390.png'), fullPage: true });
    expect(log.errors).to.deep.equal([]);
  });
});
