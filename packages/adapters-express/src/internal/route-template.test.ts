import { describe, expect, it } from 'vitest';
import { joinTemplate, mountTemplate, routePath } from './route-template.js';

describe('mountTemplate', () => {
  it.each([
    ['/acme', { tenant: 'acme' }, '/:tenant'],
    ['/tenants/acme/v1', { tenant: 'acme' }, '/tenants/:tenant/v1'],
    ['/a%20b', { name: 'a b' }, '/:name'],
    ['/files/x/y', { rest: ['x', 'y'] }, '/files/*rest'],
    ['/v1', {}, '/v1'],
    ['/%E0%A4%A', { bad: 'x' }, '/%E0%A4%A'],
  ])('turns %s with params %o back into %s', (prefix, params, template) => {
    expect(mountTemplate(prefix, params)).toBe(template);
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
