import { isKeelError } from '@keel/resilience';

const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The `error.type` of a failure, low-cardinality by construction: a Keel error's code, a system error's
 * code (`ECONNREFUSED`), or the error class name; `_OTHER` for anything else.
 */
export function errorType(error: unknown): string {
  if (isKeelError(error)) return error.code;
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && CODE.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && CODE.test(name)) return name;
  }
  return '_OTHER';
}

/** A short, single-line description of a failure for span status and logs (never a stack). */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // A message may come from a remote peer: keep it to one bounded line.
  return text.replace(/[\r\n\t]+/g, ' ').slice(0, 256);
}
