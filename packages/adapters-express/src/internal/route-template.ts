// Pieces of a route template, as Express 5's router publishes them: each layer's path pattern, relative to
// the router that holds it.

/** The route template of a path pattern: a string, a RegExp, or an array of them. */
export function routePath(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) return path.map((p) => routePath(p) ?? '').join(',');
  return undefined;
}

/** `base` and a route path joined as Express matches them (`/api` + `/` is `/api`). */
export function joinTemplate(base: string, path: string): string {
  if (base === '') return path;
  return path === '/' || path === '' ? base : `${base}${path}`;
}

/**
 * How many path segments a mount pattern can match, [fewest, most]: `/tenants/:tenant` exactly 2,
 * `/files{/:kind}` 1 or 2, a wildcard (`*rest`) or a RegExp one or more. Used to find which prefix a mount
 * was entered under, as the router publishes only the prefix it matched.
 */
export function segmentRange(pattern: unknown): readonly [number, number] {
  if (typeof pattern !== 'string') return [1, Number.POSITIVE_INFINITY];
  let required = pattern;
  // Optional groups of path-to-regexp 8 (`{/:kind}`), innermost first: none of their segments are needed.
  for (let previous = ''; previous !== required; ) {
    previous = required;
    required = required.replace(/\{[^{}]*\}/g, '');
  }
  const fewest = segments(required);
  return pattern.includes('*')
    ? [Math.max(fewest, 1), Number.POSITIVE_INFINITY]
    : [fewest, segments(pattern.replace(/[{}]/g, ''))];
}

/** The non-empty `/`-separated segments of a path or pattern. */
export function segments(path: string): number {
  let count = 0;
  for (const part of path.split('/')) if (part !== '') count++;
  return count;
}
