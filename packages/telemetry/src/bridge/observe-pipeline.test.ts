import { compose, keyedCircuitBreaker, pipeline } from '@keel/resilience';
import { context, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { observePipeline } from './observe-pipeline.js';

afterEach(() => vi.useRealTimers());

describe('observePipeline', () => {
  it("makes each decision's series at 0 for the pipeline's policies, so a first event is an increase, and removes them all on dispose", async () => {
    const core = testCore();
    const p = pipeline('bridge-zero', { retry: { maxAttempts: 2 }, bulkhead: { maxConcurrent: 1 } });
    const stop = observePipeline(p, core.metrics, core.logger);
    const events = async () =>
      [
        ...(await core.metrics.metricsText()).body.matchAll(
          /resilience_events_total\{pipeline="bridge-zero",policy="([^"]+)",event="([^"]+)"\} (\d+)/g,
        ),
      ]
        .map(([, policy, event, value]) => `${policy}/${event}=${value}`)
        .sort();
    expect(await events()).toEqual(
      [
        'bulkhead/queued=0',
        'bulkhead/reject=0',
        'circuit-breaker/break=0',
        'circuit-breaker/half-open=0',
        'circuit-breaker/isolate=0',
        'circuit-breaker/reject=0',
        'circuit-breaker/reset=0',
        'pipeline/failure=0',
        'pipeline/success=0',
        'pipeline/timeout=0',
        'retry/budget-exhausted=0',
        'retry/give-up=0',
        'retry/retry=0',
        'timeout/timeout=0',
        'total-timeout/timeout=0',
      ].sort(),
    );
    await p.execute(async () => 'ok');
    expect(await events()).toContain('pipeline/success=1');
    stop();
    p.dispose();
    expect((await core.metrics.metricsText()).body).not.toMatch(/pipeline="bridge-zero"/);
  });

  it('puts each retry and the give-up on the active span, counts them, and logs them at info', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const core = testCore();
    const p = pipeline('bridge-retry', { retry: { maxAttempts: 2, baseDelayMs: 10 }, circuitBreaker: false });
    const stop = observePipeline(p, core.metrics, core.logger);
    const span = core.tracer.startSpan('parent');
    const call = context.with(trace.setSpan(context.active(), span), () =>
      p.execute(() => Promise.reject(Object.assign(new Error('boom'), { code: 'EBOOM' }))),
    );
    const settled = call.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(((await settled) as Error).message).toBe('boom');
    vi.useRealTimers();
    span.end();
    const [parent] = await core.finished();
    expect(parent?.events.map((e) => e.name)).toEqual(['retry', 'give-up']);
    expect(parent?.events[0]?.attributes).toMatchObject({
      'keel.pipeline': 'bridge-retry',
      'keel.attempt': 1,
      'error.type': 'EBOOM',
    });
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(/resilience_events_total\{pipeline="bridge-retry",policy="retry",event="retry"\} 1/);
    expect(text).toMatch(
      /resilience_attempt_duration_seconds_count\{pipeline="bridge-retry",outcome="failure"\} 2/,
    );
    expect(core.lines.map((l) => [l.level, l.event])).toEqual([
      [30, 'retry'],
      [30, 'give-up'],
    ]);
    stop();
    p.dispose();
  });

  it('puts hedges and the winning attempt on the span and counts them from 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const core = testCore();
    const p = pipeline('bridge-hedge', { timeout: 1_000, hedge: { delayMs: 100 }, circuitBreaker: false });
    const stop = observePipeline(p, core.metrics, core.logger);
    const text = async () => (await core.metrics.metricsText()).body;
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-hedge",policy="hedge",event="hedge-won"\} 0/,
    );
    const span = core.tracer.startSpan('parent');
    const call = context.with(trace.setSpan(context.active(), span), () =>
      p.execute(({ attempt }) =>
        attempt === 1 ? new Promise(() => {}) : new Promise((resolve) => setTimeout(resolve, 10, 'fast')),
      ),
    );
    await vi.advanceTimersByTimeAsync(110);
    expect(await call).toBe('fast');
    vi.useRealTimers();
    span.end();
    const [parent] = await core.finished();
    expect(parent?.events.map((e) => [e.name, e.attributes?.['keel.attempt']])).toEqual([
      ['hedge', 2],
      ['hedge-won', 2],
    ]);
    expect(parent?.events[0]?.attributes).toMatchObject({ 'keel.policy': 'hedge', 'keel.delay_ms': 100 });
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-hedge",policy="hedge",event="hedge"\} 1/,
    );
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-hedge",policy="hedge",event="budget-exhausted"\} 0/,
    );
    stop();
    p.dispose();
  });

  it('puts an injected fault on the span with what was injected, and counts it from 0', async () => {
    const core = testCore();
    const p = pipeline('bridge-chaos', { chaos: { rate: 1, error: new Error('injected') }, retry: false });
    const stop = observePipeline(p, core.metrics, core.logger);
    const text = async () => (await core.metrics.metricsText()).body;
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-chaos",policy="chaos",event="chaos"\} 0/,
    );
    const span = core.tracer.startSpan('parent');
    const call = context.with(trace.setSpan(context.active(), span), () => p.execute(() => 'real'));
    await expect(call).rejects.toThrow('injected');
    span.end();
    const [parent] = await core.finished();
    expect(parent?.events.find((e) => e.name === 'chaos')?.attributes).toMatchObject({
      'keel.policy': 'chaos',
      'keel.chaos.fault': 'error',
      'exception.message': 'injected',
    });
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-chaos",policy="chaos",event="chaos"\} 1/,
    );
    stop();
    p.dispose();
  });

  it("exports an adaptive bulkhead's limit as a gauge and counts its limit events from 0", async () => {
    const core = testCore();
    const adaptive = pipeline('bridge-adaptive', {
      retry: false,
      bulkhead: { adaptive: { algorithm: 'aimd', initialLimit: 2 } },
    });
    const fixed = pipeline('bridge-fixed', { retry: false, bulkhead: { maxConcurrent: 2 } });
    const stops = [adaptive, fixed].map((p) => observePipeline(p, core.metrics, core.logger));
    const text = async () => (await core.metrics.metricsText()).body;
    expect(await text()).toMatch(/resilience_concurrency_limit\{pipeline="bridge-adaptive"\} 2/);
    expect(await text()).not.toMatch(/resilience_concurrency_limit\{pipeline="bridge-fixed"/);
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-adaptive",policy="bulkhead",event="limit"\} 0/,
    );
    expect(await text()).not.toMatch(/pipeline="bridge-fixed",policy="bulkhead",event="limit"/);
    await Promise.all([adaptive.execute(() => 1), adaptive.execute(() => 2)]);
    expect(adaptive.stats.concurrencyLimit).toBe(4);
    expect(await text()).toMatch(/resilience_concurrency_limit\{pipeline="bridge-adaptive"\} 4/);
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-adaptive",policy="bulkhead",event="limit"\} 1/,
    );
    for (const stop of stops) stop();
    adaptive.dispose();
    fixed.dispose();
  });

  it('says in the log line that slow calls opened the circuit', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const core = testCore();
    const p = pipeline('bridge-slow', {
      retry: false,
      circuitBreaker: { minimumThroughput: 1, slowCallDurationThresholdMs: 100 },
    });
    const stop = observePipeline(p, core.metrics, core.logger);
    const call = p.execute(() => new Promise((resolve) => setTimeout(() => resolve('late'), 200)));
    await vi.advanceTimersByTimeAsync(200);
    await expect(call).resolves.toBe('late');
    expect(core.lines.find((l) => l.event === 'break')).toMatchObject({ level: 40, reason: 'slow-calls' });
    stop();
    p.dispose();
  });

  it('puts why the circuit opened on the span', async () => {
    const core = testCore();
    const p = pipeline('bridge-break-reason', { retry: false, circuitBreaker: { consecutiveFailures: 1 } });
    const stop = observePipeline(p, core.metrics, core.logger);
    const span = core.tracer.startSpan('parent');
    const call = context.with(trace.setSpan(context.active(), span), () =>
      p.execute(() => Promise.reject(new Error('down'))),
    );
    await expect(call).rejects.toThrow('down');
    span.end();
    const [parent] = await core.finished();
    expect(parent?.events.find((e) => e.name === 'circuit.break')?.attributes).toMatchObject({
      'keel.circuit.reason': 'failures',
      'exception.message': 'down',
    });
    stop();
    p.dispose();
  });

  it("counts a keyed breaker's circuit events from 0 and exports its open keys with a key label", async () => {
    const core = testCore();
    let current = 'a';
    const p = pipeline(
      'bridge-keyed',
      compose(keyedCircuitBreaker({ key: () => current, consecutiveFailures: 1 })),
    );
    const stop = observePipeline(p, core.metrics, core.logger);
    const text = async () => (await core.metrics.metricsText()).body;
    expect(await text()).toMatch(
      /resilience_events_total\{pipeline="bridge-keyed",policy="circuit-breaker",event="break"\} 0/,
    );
    await p.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    current = 'b';
    await p.execute(() => 'ok');
    const body = await text();
    expect(body).toMatch(/resilience_circuit_state\{pipeline="bridge-keyed",key="a",state="open"\} 1/);
    expect(body).not.toMatch(/key="b"/);
    expect(body).toMatch(/resilience_circuit_keys\{pipeline="bridge-keyed",state="closed"\} 1/);
    expect(body).toMatch(/resilience_circuit_keys\{pipeline="bridge-keyed",state="open"\} 1/);
    expect(core.lines.find((l) => l.event === 'break')).toMatchObject({ key: 'a', reason: 'failures' });
    expect(body).not.toMatch(/resilience_events_total\{[^}]*key=/);
    stop();
    p.dispose();
  });

  it('logs the first retry of a call at info at most once a second, counting the others at debug', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const core = testCore();
    const p = pipeline('bridge-retry-rate', {
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, budget: false },
      circuitBreaker: false,
    });
    const stop = observePipeline(p, core.metrics, core.logger);
    const flaky = () => {
      let n = 0;
      return () => (++n < 3 ? Promise.reject(new Error('503')) : Promise.resolve('ok'));
    };
    const calls = Array.from({ length: 50 }, () => p.execute(flaky()));
    await vi.advanceTimersByTimeAsync(1_000);
    const later = p.execute(flaky());
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all([...calls, later]);

    const retries = core.lines.filter((l) => l.event === 'retry');
    expect(retries.filter((l) => l.level === 30)).toMatchObject([
      { attempt: 1, retries_at_debug: 0 },
      { attempt: 1, retries_at_debug: 49 },
    ]);
    expect(retries.filter((l) => l.level === 20)).toHaveLength(49 + 51);
    stop();
    p.dispose();
  });

  it('warns when the circuit opens and exports the circuit state gauge', async () => {
    const core = testCore();
    const p = pipeline('bridge-breaker', { retry: false, circuitBreaker: { consecutiveFailures: 1 } });
    const stop = observePipeline(p, core.metrics, core.logger);
    await p.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(core.lines.find((l) => l.event === 'break')?.level).toBe(40);
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(/resilience_circuit_state\{pipeline="bridge-breaker",state="open"\} 1/);
    expect(text).toMatch(/resilience_circuit_state\{pipeline="bridge-breaker",state="closed"\} 0/);
    stop();
    expect((await core.metrics.metricsText()).body).not.toMatch(/pipeline="bridge-breaker",state=/);
    p.dispose();
  });
});
