import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedNames, listedNames } from '../../resilience/src/testing/entry-points.js';
import { TRANSIENT_ERROR_CODES, TRANSIENT_STATUSES } from './classify.js';
import { HttpStatusError } from './errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists the error code of HttpStatusError in the error table', () => {
    expect(readme).toContain(
      `| \`${new HttpStatusError('c', 'GET', 500, {}, '').code}\` | \`HttpStatusError\``,
    );
  });

  it.each([...TRANSIENT_ERROR_CODES].filter((c) => c !== 'KEEL_ERR_TIMEOUT'))(
    'lists the transient error code %s in the classification table',
    (code) => {
      expect(readme).toContain(`\`${code}\``);
    },
  );

  it('lists every transient status in the classification table', () => {
    const rows = readme.split('\n').filter((l) => /^\| (408|500)/.test(l));
    expect(rows.join(' ')).toContain([...TRANSIENT_STATUSES].filter((s) => s >= 500).join(', '));
    expect(rows.join(' ')).toContain('408, 429');
  });

  it('lists under Entry points exactly what @keel/http exports', () => {
    expect(listedNames(readme, '@keel/http')).toEqual(exportedNames(new URL('./index.ts', import.meta.url)));
  });
});
