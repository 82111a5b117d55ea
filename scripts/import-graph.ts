/**
 * The project's import graph, read from the TypeScript sources as text (TypeScript 7 ships no
 * compiler API): static imports and re-exports (type-only ones included: they are cycles for a
 * reader too) and dynamic `import('./x.js')` with a literal path. For the architecture specs
 * (folder dependency direction, no cycles) and for `node --import tsx scripts/import-graph.ts`,
 * which prints the cycles and the folder edges.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const SKIP = new Set(['node_modules', 'dist', '.git', 'assembly', 'fixtures']);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const STATIC = /^\s*(?:import|export)\s(?:[^'";]|\n)*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
const BARE = /^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Repo-relative file -> repo-relative files it imports (only files of the project). */
export function importGraph(root = repoRoot): Map<string, string[]> {
  const files = sourceFiles(root);
  const known = new Set(files.map((f) => relative(root, f)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set<string>();
    for (const re of [STATIC, BARE, DYNAMIC]) {
      for (const m of text.matchAll(re)) {
        const target = relative(root, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
        if (known.has(target)) deps.add(target);
      }
    }
    graph.set(relative(root, file), [...deps].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The top-level folder of a repo-relative path ('.' for root files such as index.ts). */
export function topFolder(file: string): string {
  const i = file.indexOf(sep === '\\' ? '\\' : '/');
  return i < 0 ? '.' : file.slice(0, i);
}

/** Folder -> folders it imports from, with one example import each. */
export function folderEdges(graph: Map<string, string[]>): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const [from, deps] of graph) {
    const a = topFolder(from);
    for (const to of deps) {
      const b = topFolder(to);
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${from} -> ${to}`);
    }
  }
  return edges;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const graph = importGraph();
  const cycles = importCycles(graph);
  console.log(`${cycles.length} import cycle(s)`);
  for (const c of cycles) console.log(`  ${c.length} files: ${c.join(' ')}`);
  for (const [a, bs] of [...folderEdges(graph)].sort()) console.log(`${a} -> ${[...bs.keys()].sort().join(', ')}`);
}
