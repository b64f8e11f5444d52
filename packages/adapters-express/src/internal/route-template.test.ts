import { describe, expect, it } from 'vitest';
import { joinTemplate, routePath, segmentRange } from './route-template.js';

describe('segmentRange', () => {
  it.each<[unknown, readonly [number, number]]>([
    ['/tenants/:tenant', [2, 2]],
    ['/v1', [1, 1]],
    ['/files{/:kind}', [1, 2]],
    ['/a{/b{/c}}', [1, 3]],
    ['/files/*rest', [2, Number.POSITIVE_INFINITY]],
    [/^\/legacy/, [1, Number.POSITIVE_INFINITY]],
  ])('measures %s as matching %o segments', (pattern, range) => {
    expect(segmentRange(pattern)).toEqual(range);
  });
});

describe('routePath', () => {
  it.each([
    ['/orders/:id', '/orders/:id'],
    [/^\/legacy\/\d+$/, '/^\\/legacy\\/\\d+$/'],
    [['/a', '/b/:id'], '/a,/b/:id'],
    [undefined, undefined],
  ])('renders %o as %s', (path, rendered) => {
    expect(routePath(path)).toBe(rendered);
  });
});

describe('joinTemplate', () => {
  it('gives a router root route its mount path, as Express matches it', () => {
    expect(joinTemplate('/api', '/')).toBe('/api');
  });
});
