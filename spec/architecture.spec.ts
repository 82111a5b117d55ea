/**
 * The layering docs/ARCHITECTURE.md states, checked against the imports: each top-level folder
 * imports only from the folders below it. A new folder must be added here (and to the table in
 * ARCHITECTURE.md) before it can import anything.
 */
import { expect } from 'chai';
import { folderEdges, importGraph } from '../scripts/import-graph.js';

const CORE = ['engine', 'nn', 'models', 'rules', 'composites', 'canonizers', 'attribution', 'diagnostics', 'image', 'conformance'];

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
  conformance: ['engine', 'nn', 'models', 'rules', 'composites', 'canonizers', 'attribution'],
  '.': CORE,
  node: ['engine', 'nn', 'image', 'conformance'],
  cli: [...CORE, '.', 'node', 'demo'],
  demo: [...CORE, '.', 'node'],
  examples: [...CORE, '.', 'node'],
  // bench/browser.ts drives Chromium through the specs' browser harness (spec/support/browser.ts).
  bench: [...CORE, '.', 'node', 'demo', 'spec'],
  scripts: [...CORE, '.', 'node', 'demo'],
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
