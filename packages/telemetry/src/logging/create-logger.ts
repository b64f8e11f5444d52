import { checkNonEmptyString, optionConflict, optionOutOfRange, received } from '@keel/resilience/adapter';
import pino, { type DestinationStream, type Logger } from 'pino';
import { logFields, mergeFields } from './log-fields.js';
import { DEFAULT_REDACT_PATHS, REDACT_CENSOR } from './redact.js';
import { defaultLogDestination } from './turn-destination.js';

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Written as `service` on every record. */
  readonly serviceName: string;
  /**
   * Minimum level; with `logger`, applied to the returned child only when given.
   * @default process.env.LOG_LEVEL ?? 'info'
   */
  readonly level?: string;
  /** An existing pino logger to wrap; the result is a child of it that carries Keel's fields. */
  readonly logger?: Logger;
  /** Redaction paths (pino syntax) added to Keel's defaults. */
  readonly redact?: readonly string[];
  /**
   * Where records go when Keel builds the logger. @default standard output, the lines of each event-loop
   * turn in one write (`turnDestination()`), or through `process.stdout` as pino writes by default when
   * its `write` was replaced or it is not the process's own (a worker thread);
   * `pino.destination({ dest: 1, sync: true })` writes each line at once
   */
  readonly destination?: DestinationStream;
}

type Formatter = (record: object) => object;

/**
 * Creates a pino logger whose every record carries `service`, `trace_id`, `span_id`, `trace_flags` and
 * `correlation_id` from the active context, with credentials redacted.
 * @example
 * const log = createLogger({ serviceName: 'checkout' });
 * log.info({ orderId }, 'order placed');
 */
export function createLogger(options: LoggerOptions): Logger {
  const { serviceName, logger } = options;
  checkNonEmptyString('createLogger', 'serviceName', serviceName);
  const fields = logFields(serviceName);
  const redact = { paths: [...DEFAULT_REDACT_PATHS, ...(options.redact ?? [])], censor: REDACT_CENSOR };
  if (logger === undefined) {
    const level = resolveLevel(options.level, pino.levels.values);
    return pino(
      { level, mixin: fields, mixinMergeStrategy: mergeFields, redact },
      options.destination ?? defaultLogDestination(),
    );
  }
  if (options.destination !== undefined) {
    optionConflict('createLogger', 'destination', 'logger', 'the given logger keeps its own stream');
  }
  const parent = parentLayout(logger);
  // A pino child replaces its parent's redaction rather than extending it, so silently dropping the
  // parent's paths would leak what its owner meant to hide.
  if (options.redact === undefined && parent.redacts === undefined) {
    throw new TypeError(
      `createLogger: options.logger is not laid out as pino ${pino.version} lays out a logger (another copy or version of pino), so whether it redacts cannot be told and a pino child replaces its parent redaction; list its paths in options.redact ([] if none)`,
    );
  }
  if (options.redact === undefined && parent.redacts === true) {
    throw new TypeError(
      'createLogger: options.logger already redacts; a pino child replaces its parent redaction, so list those paths in options.redact',
    );
  }
  // `mixin` is a root-only option in pino; `formatters.log` is the per-child hook that sees every record,
  // and a child's replaces its parent's, so the parent's is called from it.
  const parentFormat = parent.format;
  const format: Formatter = (record) => {
    const merged = mergeFields(record, fields(record));
    return parentFormat === undefined ? merged : parentFormat(merged);
  };
  return logger.child(
    {},
    {
      formatters: { log: format },
      redact,
      ...(options.level === undefined ? {} : { level: resolveLevel(options.level, logger.levels.values) }),
    },
  );
}

/** What Keel reads of a parent logger's state, through the symbols pino exposes for integrations. */
interface ParentLayout {
  /** Whether the parent redacts; undefined when its state is not where this pino keeps it. */
  readonly redacts: boolean | undefined;
  /** The parent's log formatter, if it has one Keel can see. */
  readonly format: Formatter | undefined;
}

/**
 * The parent's redaction and log formatter, read through `pino.symbols` (pino's documented door to a
 * logger's non-public state, for integrations). Checked, not assumed: a logger from another copy of pino
 * (whose private symbols differ) or from a version that moved them reads as unknown, and the caller then
 * falls back to what the public API allows. package.json pins pino to the minor this was checked against.
 */
function parentLayout(logger: Logger): ParentLayout {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stringifiers = internals[pino.symbols.stringifiersSym];
  const formatters = internals[pino.symbols.formattersSym];
  const log =
    typeof formatters === 'object' && formatters !== null ? (formatters as { log?: unknown }).log : undefined;
  const redacts =
    typeof stringifiers === 'object' && stringifiers !== null
      ? (stringifiers as Record<symbol, unknown>)[pino.symbols.redactFmtSym] !== undefined
      : undefined;
  return { redacts, format: typeof log === 'function' ? (log as Formatter) : undefined };
}

function resolveLevel(explicit: string | undefined, known: Record<string, number>): string {
  const fromEnv = process.env.LOG_LEVEL === '' ? undefined : process.env.LOG_LEVEL;
  const level = (explicit ?? fromEnv ?? 'info').trim().toLowerCase();
  if (level === 'silent' || Object.hasOwn(known, level)) return level;
  const expected = `one of ${[...Object.keys(known), 'silent'].join(', ')}`;
  if (explicit !== undefined) optionOutOfRange('createLogger', 'level', expected, explicit);
  // The same shape for the environment variable, which is not an option.
  throw new RangeError(`createLogger: LOG_LEVEL must be ${expected}, received ${received(fromEnv)}`);
}
