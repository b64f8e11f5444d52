// Express exposes `req.baseUrl` as the matched URL prefix ("/tenants/42"), not the mount pattern, and
// resets it when a router is left (an error travelling to an app-level handler, a `next()` out of a
// mount). So the template is assembled while routing happens: each mount's new prefix is turned back into
// its pattern with the params matched for it, and the route is captured the moment it matches.

/** The route template of `route.path` as Express holds it: a string, a RegExp or an array of them. */
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
 * The pattern of a mount prefix (`/42/orders`) given the params its layer matched (`{ tenant: '42' }`):
 * `/:tenant/orders`. Segments matching no param are literal parts of the pattern and stay.
 */
export function mountTemplate(prefix: string, params: unknown): string {
  if (typeof params !== 'object' || params === null) return prefix;
  const names = Object.keys(params);
  if (names.length === 0) return prefix;
  const values = params as Record<string, unknown>;
  const segments = prefix.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = decode(segments[i] ?? '');
    if (segment === '') continue;
    for (const name of names) {
      const value = values[name];
      if (value === segment) {
        segments[i] = `:${name}`;
        break;
      }
      // Express 5 wildcards (`*rest`) match several segments and hold them as an array.
      if (Array.isArray(value) && value.length > 0 && matchesRun(segments, i, value)) {
        segments.splice(i, value.length, `*${name}`);
        break;
      }
    }
  }
  return segments.join('/');
}

function matchesRun(segments: readonly string[], from: number, values: readonly unknown[]): boolean {
  for (let j = 0; j < values.length; j++) {
    if (decode(segments[from + j] ?? '') !== values[j]) return false;
  }
  return true;
}

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
