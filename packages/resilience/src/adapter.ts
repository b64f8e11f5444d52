// The adapter entry point, `@keel/resilience/adapter`: what transport adapters and the telemetry bridge
// need beyond the application API.
import './node-check.js';

export { ensureContextManager } from './internal/context-manager.js';
export { PIPELINE_OPTION_KEYS } from './internal/resolve-options.js';
export type { AbortListener } from './internal/scope.js';
export {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNonEmptyString,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptions,
  invalidOption,
  isPlainObject,
  MAX_MS,
  optionalNumber,
  optionConflict,
  optionMessage,
  optionOutOfRange,
  received,
} from './internal/validate.js';
export { livePipelines, onPipelineCreated, onPipelineDisposed } from './registry.js';
