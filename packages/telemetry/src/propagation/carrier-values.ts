// Getters return `string | string[] | undefined` in theory and anything at all in practice.

/**
 * The value of a single-valued header as a getter returned it: the first field of several, since a second
 * traceparent is a conflict, not a merge. Not yet type-checked: the parsers do that.
 */
export function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The value of a list-valued header, its fields joined by `,` as RFC 7230 says; `undefined` when absent
 * or over `max` characters: the parser would drop it anyway, and a million fields must not cost a
 * million-field join.
 */
export function joined(value: unknown, max: number): string | undefined {
  if (!Array.isArray(value)) return typeof value === 'string' ? value : undefined;
  let out: string | undefined;
  for (const field of value) {
    if (typeof field !== 'string') continue;
    out = out === undefined ? field : `${out},${field}`;
    if (out.length > max) return undefined;
  }
  return out;
}
