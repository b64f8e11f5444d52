import type { ConfigIssue } from './internal/schema-walk.js';

export type { ConfigIssue };

const kConfigError = Symbol.for('keel.resilience.config-error');

/**
 * Pipelines configuration that does not validate: `issues` lists every problem found, each with its path,
 * the expectation and the value received, and the message lists them one a line.
 */
export class ConfigError extends TypeError {
  override readonly name = 'ConfigError';
  readonly code = 'KEEL_ERR_CONFIG';
  readonly issues: readonly ConfigIssue[];
  readonly [kConfigError] = true;

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  ${i.path}: expected ${i.expected}, received ${i.received}`);
    const count = issues.length === 1 ? '1 issue' : `${issues.length} issues`;
    super(`invalid pipelines configuration (${count}):\n${lines.join('\n')}`);
    this.issues = issues;
  }
}

/** True for a `ConfigError`, from any installed copy of the package. */
export function isConfigError(error: unknown): error is ConfigError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kConfigError] === true
  );
}
