/**
 * The core is platform-neutral: nothing that computes imports a Node built-in or a Node-only
 * package, so a browser bundle of the root entry resolves every import. File-system code lives in
 * node/ (the `lrp-tape/node` entry).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import { MIN_NODE, unsupportedNode } from '../../node/runtime.js';
import { repoRoot } from './pack.js';

/** Entry modules that only Node starts (never imported by the core's module graph; the bundle test checks that). */
const NODE_ONLY_ENTRIES = new Set(['engine/kernels/parallel/worker.ts']);

const CORE = ['engine', 'nn', 'models', 'rules', 'composites', 'canonizers', 'attribution', 'diagnostics', 'evaluation', 'image', 'conformance'];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'assembly') out.push(...tsFiles(p));
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('package: platform-neutral core', () => {
  it('no core module imports a Node built-in or a Node-only package', () => {
    const offenders: string[] = [];
    for (const folder of CORE) {
      for (const file of tsFiles(join(repoRoot, folder))) {
        if (NODE_ONLY_ENTRIES.has(relative(repoRoot, file))) continue;
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
          const spec = m[1]!;
          const typeOnly = /^\s*(?:import|export)\s+type\s/.test(m[0]);
          if (!typeOnly && (spec.startsWith('node:') || ['fs', 'path', 'crypto', 'worker_threads', 'os', 'pngjs', 'url'].includes(spec) || spec.includes('/node/'))) {
            offenders.push(`${relative(repoRoot, file)} imports '${spec}'`);
          }
        }
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the root entry bundles for the browser with zero unresolved imports and without node/', async () => {
    const res = await build({
      entryPoints: [join(repoRoot, 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    });
    expect(res.errors).to.deep.equal([]);
    const inputs = Object.keys(res.metafile!.inputs);
    expect(inputs.filter((i) => i.startsWith('node/') || i.includes('node_modules/pngjs') || NODE_ONLY_ENTRIES.has(i))).to.deep.equal([]);
  });

  it('names the Node version it needs instead of failing somewhere inside', () => {
    expect(unsupportedNode('18.19.0')).to.match(/needs Node >= 20\.16.*this is Node 18\.19\.0/);
    expect(unsupportedNode('20.15.1')).to.match(/needs Node >= 20\.16/);
    expect(unsupportedNode('20.16.0')).to.equal(null);
    expect(unsupportedNode('22.1.0')).to.equal(null);
    expect(unsupportedNode(process.versions.node)).to.equal(null);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).to.equal(`>=${MIN_NODE.join('.')}`);
  });
});
