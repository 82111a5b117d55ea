/**
 * The layering docs/ARCHITECTURE.md states, checked against the imports: each top-level folder
 * imports only from the folders below it. A new folder must be added here (and to the table in
 * ARCHITECTURE.md) before it can import anything.
 */
import { expect } from 'chai';
import { folderEdges, importCycles, importGraph } from '../scripts/import-graph.js';

const CORE = ['engine', 'nn', 'models', 'rules', 'composites', 'canonizers', 'attribution', 'diagnostics', 'image', 'conformance', 'evaluation'];

/** Folder -> the folders it may import from. Applications and tools (cli, demo, ...) may import any library folder. */
const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  nn: ['engine'],
  models: ['engine', 'nn'],
  rules: ['engine'],
  composites: ['engine', 'rules'],
  canonizers: ['engine', 'nn'],
  attribution: ['engine', 'nn', 'rules', 'composites'],
  diagnostics: ['engine', 'nn', 'rules', 'composites', 'attribution'],
  image: ['engine'],
  evaluation: ['engine', 'nn', 'rules', 'composites', 'canonizers', 'attribution', 'diagnostics'],
  conformance: ['engine', 'nn', 'models', 'rules', 'composites', 'canonizers', 'attribution'],
  '.': CORE,
  node: ['engine', 'nn', 'image', 'conformance'],
  cli: [...CORE, '.', 'node', 'demo'],
  demo: [...CORE, '.', 'node'],
  examples: [...CORE, '.', 'node'],
  // bench/browser.ts drives Chromium through the specs' browser harness (spec/support/browser.ts).
  bench: [...CORE, '.', 'node', 'demo', 'spec'],
  scripts: [...CORE, '.', 'node', 'demo', 'teach'],
  teach: [...CORE, '.', 'demo'],
  spec: ['*'],
};

describe('architecture: folder dependency direction', () => {
  const edges = folderEdges(importGraph());

  it('every folder imports only from the folders ARCHITECTURE.md puts below it', () => {
    const wrong: string[] = [];
    for (const [from, targets] of edges) {
      const allowed = ALLOWED[from];
      if (!allowed) {
        wrong.push(`${from}/ is not in the layer table (spec/architecture.spec.ts, docs/ARCHITECTURE.md)`);
        continue;
      }
      if (allowed.includes('*')) continue;
      for (const [to, example] of targets) if (!allowed.includes(to)) wrong.push(`${from} -> ${to} (${example})`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('the rule bites: an upward import is reported', () => {
    const graph = new Map([['engine/x.ts', ['nn/y.ts']], ['nn/y.ts', []]]);
    expect([...folderEdges(graph).get('engine')!.keys()]).to.deep.equal(['nn']);
    expect(ALLOWED.engine).to.not.include('nn');
  });
});

describe('architecture: no import cycles', () => {
  it('no file reaches itself through its imports (type-only imports and re-exports count)', () => {
    const cycles = importCycles(importGraph()).map((c) => c.join(' -> '));
    expect(cycles, 'node --import tsx scripts/import-graph.ts lists them').to.deep.equal([]);
  });

  it('the check bites: a cycle through a type-only import is reported, a chain is not', () => {
    const graph = new Map([
      ['engine/a.ts', ['engine/b.ts']],
      ['engine/b.ts', ['engine/c.ts']],
      ['engine/c.ts', ['engine/a.ts']],
      ['engine/d.ts', ['engine/a.ts']],
    ]);
    expect(importCycles(graph)).to.deep.equal([['engine/a.ts', 'engine/b.ts', 'engine/c.ts']]);
    expect(importCycles(new Map([['x.ts', ['x.ts']]]))).to.deep.equal([['x.ts']]);
    expect(importCycles(new Map([['x.ts', ['y.ts']], ['y.ts', []]]))).to.deep.equal([]);
  });

  it('the graph sees type-only imports and re-exports', () => {
    const graph = importGraph();
    // tensor.ts's interfaces are imported type-only by recording.ts, which re-exports them.
    expect(graph.get('engine/recording.ts')).to.include('engine/tensor.ts');
    expect(graph.get('engine/index.ts')).to.include('engine/grad.ts');
  });
});
