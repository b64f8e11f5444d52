import { pipelinesFromConfig } from '@keel/resilience';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { observePipeline } from './observe-pipeline.js';

afterEach(() => vi.useRealTimers());

describe('observePipeline on a configured pipeline', () => {
  it('counts the decisions of the options a reload put in force, under the same name', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const core = testCore();
    const config = pipelinesFromConfig({ pipelines: { 'bridge-config': { retry: false } } });
    const p = config.get('bridge-config');
    const stop = observePipeline(p, core.metrics, core.logger);
    const retries = async () =>
      /resilience_events_total\{pipeline="bridge-config",policy="retry",event="retry"\} (\d+)/.exec(
        (await core.metrics.metricsText()).body,
      )?.[1];
    expect(await retries()).toBeUndefined();
    config.reload({
      pipelines: { 'bridge-config': { retry: { maxAttempts: 2, baseDelayMs: 1, budget: false } } },
    });
    let attempts = 0;
    const call = p.execute(() => (++attempts === 1 ? Promise.reject(new Error('once')) : 'ok'));
    await vi.advanceTimersByTimeAsync(10);
    await expect(call).resolves.toBe('ok');
    expect(await retries()).toBe('1');
    stop();
    config.dispose();
  });
});
