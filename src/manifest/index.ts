// The spec layer: manifest text -> validated, typed Pods.
export * from './types.js';
export { ManifestError, formatIssue, sortIssues, type SpecIssue } from './errors.js';
export { readPods, readPodFile, type ReadOptions, type ReadResult } from './read.js';
export {
  parseQuantity,
  compareQuantities,
  cpuMillis,
  bytes,
  QuantityError,
  type Quantity,
  type QuantityFormat,
} from './quantity.js';
export { NOT_IMPLEMENTED, type NotImplemented } from './unimplemented.js';
