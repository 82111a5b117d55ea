/**
 * `lrp-tape/node`: the Node-only adapters around the platform-neutral core. Everything here
 * touches the file system (paths in, files out); everything that computes is in the core entry
 * (`lrp-tape`) and takes or returns bytes.
 *
 * - files written atomically (a temp sibling, fsync, rename): `writeBytesAtomic`
 * - safetensors and state dicts from and to paths
 * - PNG files (decoding through pngjs; encoding is the core's `image.encodePng`)
 * - image files, PNG or JPEG by their signature (`readImage`)
 * - the reference-case directory runner
 */
import { unsupportedNode } from './runtime.js';

const tooOld = unsupportedNode(process.versions.node);
if (tooOld) throw new Error(tooOld);

export { MIN_NODE, unsupportedNode } from './runtime.js';
export { writeBytesAtomic } from './atomic-write.js';
export { checkOutputPath, UnsafeOutputError, type OutputPathOptions } from './output-path.js';
export { readSafetensorsFile, readSafetensorsBytes, writeSafetensorsFile, writeSafetensorsBytes } from './safetensors-file.js';
export { readStateDictFile, loadStateDictFile, writeStateDictFile } from './state-dict.js';
export { decodePng, readPng, writePng } from './png.js';
export { decodeImage, readImage } from './image.js';
export { caseFiles, runCaseFile, runConformance, type ConformanceSummary } from './conformance.js';
