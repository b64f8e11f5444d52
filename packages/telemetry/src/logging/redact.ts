/** Keys whose values never reach a log: credentials, session cookies, tokens and secrets. */
export const DEFAULT_REDACT_KEYS: readonly string[] = Object.freeze([
  'authorization',
  'cookie',
  'set-cookie',
  'proxy-authorization',
  'x-api-key',
  'token',
  'access_token',
  'refresh_token',
  'password',
  'secret',
]);

/** What a redacted value is replaced with. */
export const REDACT_CENSOR = '[REDACTED]';

// `*.key` covers one level of nesting, which includes a bare `headers` object; request and response
// headers sit two levels deep, so they are listed explicitly.
const PREFIXES = ['', '*.', 'req.headers.', 'res.headers.'];

/** Pino redaction paths for every default key: top level, one level down, and request/response headers. */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze(
  PREFIXES.flatMap((prefix) => DEFAULT_REDACT_KEYS.map((key) => redactPath(prefix, key))),
);

// Keys with a hyphen need bracket notation in pino's path syntax.
function redactPath(prefix: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return `${prefix}${key}`;
  const quoted = `["${key}"]`;
  return prefix === '' ? quoted : `${prefix.slice(0, -1)}${quoted}`;
}
