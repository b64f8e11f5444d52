import type { Logger } from 'pino';

const cache = new WeakMap<Logger, Logger>();

/**
 * A child of `logger` that skips redaction, for records Keel builds itself from values it has already
 * bounded (method, route template, status, duration, error type). Redaction walks every configured
 * path for every record, most of what an access log line costs, and a record made of those fields has
 * nothing to redact. Never use it for records carrying caller data.
 */
export function unredacted(logger: Logger): Logger {
  let child = cache.get(logger);
  if (child === undefined) {
    // A pino child replaces its parent's redaction; an empty list turns it off for this child only.
    child = logger.child({}, { redact: { paths: [] } });
    cache.set(logger, child);
  }
  return child;
}
