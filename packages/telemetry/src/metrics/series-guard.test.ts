import { describe, expect, it, vi } from 'vitest';
import { seriesGuard } from './series-guard.js';

describe('seriesGuard', () => {
  it('makes a series ahead of need only while it fits under the cap, never diverting it to the overflow series', () => {
    const onOverflow = vi.fn();
    const guard = seriesGuard(['pipeline'], 2, onOverflow);
    expect(guard.ifRoom({ pipeline: 'a' })).toEqual({ pipeline: 'a' });
    expect(guard.ifRoom({ pipeline: 'b' })).toEqual({ pipeline: 'b' });
    expect(guard.ifRoom({ pipeline: 'c' })).toBeUndefined();
    expect(guard.ifRoom({ pipeline: 'a' })).toEqual({ pipeline: 'a' });
    expect(onOverflow).not.toHaveBeenCalled();
    expect(guard({ pipeline: 'c' })).toEqual({ pipeline: '_overflow' });
    expect(onOverflow).toHaveBeenCalledTimes(1);
  });

  it('frees the place of a released series under the cap and hands back the labels it had', () => {
    const guard = seriesGuard(['pipeline', 'event'], 1, () => undefined);
    const bound = guard({ pipeline: 'a', event: 'retry' });
    expect(guard.release({ pipeline: 'a', event: 'retry' })).toBe(bound);
    expect(guard.release({ pipeline: 'a', event: 'retry' })).toBeUndefined();
    expect(guard({ pipeline: 'b', event: 'retry' })).toEqual({ pipeline: 'b', event: 'retry' });
    // The released series is a new one if recorded again, and counts against the cap like any other.
    expect(guard({ pipeline: 'a', event: 'retry' })).toEqual({ pipeline: '_overflow', event: '_overflow' });
  });
});
