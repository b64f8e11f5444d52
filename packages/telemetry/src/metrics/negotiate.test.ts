import { describe, expect, it } from 'vitest';
import { negotiateFormat } from './negotiate.js';

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain; version=0.0.4', 'prometheus'],
    ['application/openmetrics-text', 'openmetrics'],
    ['Application/OpenMetrics-Text; version=1.0.0', 'openmetrics'],
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['application/openmetrics-text;q=0.2,text/plain;q=0.9', 'prometheus'],
    ['application/openmetrics-text;q=0', 'prometheus'],
    [
      'application/vnd.google.protobuf;q=0.9,application/openmetrics-text;q=0.5,text/plain;q=0.4',
      'openmetrics',
    ],
  ] as const)('answers %j with %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });

  it('ignores whatever follows the first 2048 characters of a huge header', () => {
    const accept = `${'text/plain;q=0.1,'.repeat(200)}application/openmetrics-text`;
    expect(negotiateFormat(accept)).toBe('prometheus');
  });
});
