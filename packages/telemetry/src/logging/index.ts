export { createLogger, type LoggerOptions } from './create-logger.js';
export { type LogFields, logFields } from './log-fields.js';
export { DEFAULT_REDACT_KEYS, DEFAULT_REDACT_PATHS, REDACT_CENSOR } from './redact.js';
export { type TurnDestination, type TurnDestinationOptions, turnDestination } from './turn-destination.js';
