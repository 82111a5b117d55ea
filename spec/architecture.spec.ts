/**
 * The layering docs/ARCHITECTURE.md states, checked against the imports: each top-level folder
 * imports only from the folders below it. A new folder must be added here and to the table in
 * ARCHITECTURE.md (a test checks that the two agree) before it can import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { folderEdges, importCycles, importGraph, repoRoot } from '../scripts/import-graph.js';

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
  conformance: ['engine', 'nn', 'models', 'composites', 'canonizers', 'attribution'],
  '.': CORE,
  node: ['engine', 'nn', 'image', 'conformance'],
  cli: [...CORE, '.', 'node', 'demo'],
  demo: [...CORE, '.', 'node'],
  examples: [...CORE, '.', 'node', 'demo', 'teach'],
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

/**
 * ARCHITECTURE.md's layer table as folder -> allowed folders: the rows of top-level folders
 * (`name/`) and of `index.ts` (`.`); rows for a sub-folder or a file are detail and not read. In the
 * last cell, parentheses are comments, `nothing` is none, `everything` is '*' and `the core` is
 * the folders the document's own definition of the core lists (without the row's own folder).
 */
function layerTable(markdown: string): { table: Record<string, string[]>; core: string[]; problems: string[] } {
  const problems: string[] = [];
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) return { table: {}, core: [], problems: ["no '## Layers' section"] };
  const definition = /\*the core\* is ([^;]*);/.exec(section.replace(/\s+/g, ' '));
  if (!definition) problems.push("no definition of '*the core*'");
  const core = [...(definition?.[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((n) => n !== 'index.ts');
  const table: Record<string, string[]> = {};
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split(' | ');
    const head = cells[0]!.slice(2).trim();
    const folder = head === '`index.ts` (`.`)' ? '.' : /^`([a-z][a-z0-9-]*)\/`$/.exec(head)?.[1];
    if (!folder) continue;
    if (folder in table) problems.push(`${folder} has two rows`);
    const deps = new Set<string>();
    const cell = cells[cells.length - 1]!.replace(/\|\s*$/, '').replace(/\([^()]*(\([^()]*\)[^()]*)*\)/g, '');
    for (const raw of cell.split(',').map((t) => t.trim())) {
      const name = /^`([^`]+)`$/.exec(raw)?.[1];
      if (raw === 'nothing') continue;
      else if (raw === 'everything') deps.add('*');
      else if (raw === 'the core') for (const c of core) deps.add(c);
      else if (name) deps.add(name);
      else problems.push(`${folder}: cannot read '${raw}'`);
    }
    deps.delete(folder);
    table[folder] = [...deps].sort();
  }
  return { table, core, problems };
}

describe('architecture: docs/ARCHITECTURE.md states the layering the spec checks', () => {
  const doc = layerTable(readFileSync(join(repoRoot, 'docs', 'ARCHITECTURE.md'), 'utf8'));

  it("the layer table's 'depends on' column is ALLOWED, row for row", () => {
    expect(doc.problems).to.deep.equal([]);
    expect(doc.core.sort()).to.deep.equal([...CORE, '.'].sort());
    const allowed = Object.fromEntries(Object.entries(ALLOWED).map(([k, v]) => [k, [...v].sort()]));
    expect(doc.table).to.deep.equal(allowed);
  });

  it('the reader bites: detail rows are skipped, the core expands, an unreadable cell is reported', () => {
    const md = [
      '## Layers', '', '*the core* is `engine`, `nn` and `index.ts` (`.`); a parenthesis is a comment.', '',
      '| folder | what | depends on |', '| --- | --- | --- |',
      '| `engine/kernels/` | detail | `nn` |',
      '| `engine/` | x | nothing (its kernels) |',
      '| `nn/` | x | `engine`, `rules` |',
      '| `cli/` | x | the core, `node` |',
      '| `demo/` | x | all |',
      '', '## Next',
    ].join('\n');
    const t = layerTable(md);
    expect(t.core).to.deep.equal(['engine', 'nn', '.']);
    expect(t.table).to.deep.equal({ engine: [], nn: ['engine', 'rules'], cli: ['.', 'engine', 'nn', 'node'], demo: [] });
    expect(t.problems).to.deep.equal(["demo: cannot read 'all'"]);
  });
});

describe('architecture: the TypeScript configs cover the folders', () => {
  const config = (name: string): { include: string[]; exclude: string[] } => JSON.parse(readFileSync(join(repoRoot, name), 'utf8'));
  const hasTs = (dir: string): boolean =>
    readdirSync(dir).some((n) => (n.endsWith('.ts') && !n.endsWith('.d.ts')) || (statSync(join(dir, n)).isDirectory() && n !== 'node_modules' && hasTs(join(dir, n))));

  it("tsconfig.json type-checks every top-level folder with TypeScript, and includes no folder that does not exist", () => {
    const { include } = config('tsconfig.json');
    const folders = readdirSync(repoRoot).filter((n) => !n.startsWith('.') && n !== 'node_modules' && n !== 'dist' && statSync(join(repoRoot, n)).isDirectory());
    expect(folders.filter((f) => hasTs(join(repoRoot, f)) && !include.includes(f))).to.deep.equal([]);
    expect(include.filter((f) => f !== '*.ts' && !folders.includes(f))).to.deep.equal([]);
  });

  it("tsconfig.build.json compiles exactly the folders the published entries (index.ts, node/, cli/bin.ts) import", () => {
    const graph = importGraph();
    const reached = new Set<string>();
    const todo = ['index.ts', 'node/index.ts', 'cli/bin.ts'];
    for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
      if (reached.has(f)) continue;
      reached.add(f);
      todo.push(...(graph.get(f) ?? []));
    }
    const folders = new Set([...reached].map((f) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : f)));
    expect([...config('tsconfig.build.json').include].sort()).to.deep.equal([...folders].sort());
  });
});
