/**
 * Pure-bytes safetensors reader/writer. Deliberately independent of the tensor
 * engine so loaders, fixtures and the CLI can share it without import cycles.
 */
export { SafetensorsError } from './safetensors/errors.js';
export type { SafetensorsDType, RawData, RawTensor } from './safetensors/dtypes.js';
export { parseSafetensors, MAX_HEADER_BYTES, type SafetensorsFile, type ParseOptions } from './safetensors/parse.js';
export { serializeSafetensors, type TensorCollection } from './safetensors/serialize.js';
