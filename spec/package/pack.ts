/**
 * Packs the project as `npm pack` does (prepare builds dist/) and installs the tarball into a fresh
 * consumer project, offline: the consumer's lockfile pins the runtime dependencies to the versions
 * and integrity hashes of this repository's lockfile, so npm takes them from its cache (filled by
 * the repository's own `npm ci`) and no registry is asked at test time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

export interface Packed {
  tarball: string;
  bytes: number;
  files: string[];
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function packInto(dir: string): Packed {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // prepare's build output may precede the JSON on stdout.
  const json = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  const info = json[0]!;
  return { tarball: join(dir, info.filename), bytes: info.size, files: info.files.map((f) => f.path) };
}

/** A consumer project in `dir` with `lrp-tape` installed from `tarball` (and `extra` package.json fields). */
export function installConsumer(dir: string, tarball: string, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    version: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string>;
  };
  const repoLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'lrp-tape': spec } },
    'node_modules/lrp-tape': {
      version: pkg.version, resolved: spec, license: 'MIT', dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(repoLock.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev || entry.devOptional) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const base = name.slice(name.lastIndexOf('/') + 1);
    packages[key] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz` };
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'lrp-tape': spec }, ...extra }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
  execFileSync(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Consumer {
  /** The temporary folder holding the tarball and the consumer project. */
  work: string;
  packed: Packed;
  /** The consumer project with lrp-tape installed from the tarball. */
  dir: string;
}

let shared: Consumer | null = null;

/** One packed tarball and installed consumer for every package spec of this run (packing builds dist/: do it once). */
export function sharedConsumer(): Consumer {
  if (shared) return shared;
  const work = mkdtempSync(join(tmpdir(), 'lrp-tape-pack-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  const packed = packInto(work);
  const dir = join(work, 'consumer');
  installConsumer(dir, packed.tarball);
  shared = { work, packed, dir };
  return shared;
}
