import { isTimeoutError, setDeadline } from '@keel/resilience';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { spentDeadline } from './inbound.js';

describe('spentDeadline', () => {
  it('rejects with a deadline TimeoutError when the caller’s deadline has already passed', () => {
    const error = spentDeadline(setDeadline(ROOT_CONTEXT, performance.now() - 1));
    expect(isTimeoutError(error)).toBe(true);
    expect(error?.scope).toBe('deadline');
  });

  it('lets work through while time is left or when no deadline came', () => {
    expect(spentDeadline(setDeadline(ROOT_CONTEXT, performance.now() + 1_000))).toBeUndefined();
    expect(spentDeadline(ROOT_CONTEXT)).toBeUndefined();
  });
});
