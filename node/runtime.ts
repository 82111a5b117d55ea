/** The oldest Node the package supports (package.json `engines`): `process.getBuiltinModule`, used to start kernel threads, arrived in 20.16. */
export const MIN_NODE = [20, 16] as const;

/** null when `version` (e.g. process.versions.node) is supported, else the one-line reason. */
export function unsupportedNode(version: string): string | null {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  const [needMajor, needMinor] = MIN_NODE;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return null;
  return `lrp-tape needs Node >= ${needMajor}.${needMinor} (package.json "engines"); this is Node ${version}. Upgrade Node to use lrp-tape/node and the CLI.`;
}
