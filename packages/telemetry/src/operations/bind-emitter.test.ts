import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindEmitter } from './bind-emitter.js';

const key = createContextKey('test.bind-emitter');
const ctx = ROOT_CONTEXT.setValue(key, 'bound');
const seen = () => context.active().getValue(key);

/** The context a listener added to `emitter` now sees when it fires. */
function seenByNextListener(emitter: EventEmitter): unknown {
  let inside: unknown = 'not called';
  emitter.once('x', () => {
    inside = seen();
  });
  emitter.emit('x');
  return inside;
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('bindEmitter', () => {
  it('runs listeners added afterwards in the context, by on, addListener and prependListener', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    const calls: unknown[] = [];
    emitter.on('x', () => calls.push(['on', seen()]));
    emitter.addListener('x', () => calls.push(['addListener', seen()]));
    emitter.prependListener('x', () => calls.push(['prependListener', seen()]));
    emitter.emit('x');
    expect(calls).toEqual([
      ['prependListener', 'bound'],
      ['on', 'bound'],
      ['addListener', 'bound'],
    ]);
  });

  it('leaves a listener added before binding as it was', () => {
    const emitter = new EventEmitter();
    let before: unknown = 'not called';
    emitter.on('x', () => {
      before = seen();
    });
    bindEmitter(ctx, emitter);
    emitter.emit('x');
    expect(before).toBeUndefined();
  });

  it('runs once and prependOnceListener listeners once, in the context', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    const calls: unknown[] = [];
    emitter.once('x', (arg) => calls.push(['once', arg, seen()]));
    emitter.prependOnceListener('x', (arg) => calls.push(['prependOnce', arg, seen()]));
    emitter.emit('x', 1);
    emitter.emit('x', 2);
    expect(calls).toEqual([
      ['prependOnce', 1, 'bound'],
      ['once', 1, 'bound'],
    ]);
    expect(emitter.listenerCount('x')).toBe(0);
  });

  it('removes a bound listener by the function given, with removeListener and off', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    const a = () => {};
    const b = () => {};
    const c = () => {};
    emitter.on('x', a);
    emitter.on('x', b);
    emitter.once('x', c);
    emitter.removeListener('x', a);
    emitter.off('x', b);
    emitter.removeListener('x', c);
    expect(emitter.listenerCount('x')).toBe(0);
  });

  it('lists the functions given, as for an unbound emitter', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    const a = () => {};
    const b = () => {};
    emitter.on('x', a);
    emitter.once('x', b);
    expect(emitter.listeners('x')).toEqual([a, b]);
    expect(emitter.listenerCount('x', b)).toBe(1);
  });

  it('removes a listener added before binding', () => {
    const emitter = new EventEmitter();
    const a = () => {};
    emitter.on('x', a);
    bindEmitter(ctx, emitter);
    emitter.removeListener('x', a);
    expect(emitter.listenerCount('x')).toBe(0);
  });

  it('keeps a stream’s own listener methods: data listeners still start the flow', async () => {
    const stream = new PassThrough();
    bindEmitter(ctx, stream);
    const chunks: unknown[] = [];
    const ended = new Promise<unknown>((resolve) => stream.on('end', () => resolve(seen())));
    context.with(ROOT_CONTEXT, () =>
      stream.on('data', (chunk: Buffer) => chunks.push([String(chunk), seen()])),
    );
    stream.end('abc');
    await expect(ended).resolves.toBe('bound');
    expect(chunks).toEqual([['abc', 'bound']]);
  });

  it('keeps the first context when bound twice', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    bindEmitter(ROOT_CONTEXT.setValue(key, 'second'), emitter);
    expect(seenByNextListener(emitter)).toBe('bound');
  });

  it('leaves another emitter unbound when a bound method is called on it', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    const other = new EventEmitter();
    other.on = emitter.on;
    expect(seenByNextListener(other)).toBeUndefined();
    expect(seenByNextListener(emitter)).toBe('bound');
  });

  it('falls back to OpenTelemetry’s binding when the methods were already patched', () => {
    const emitter = new EventEmitter();
    context.bind(ROOT_CONTEXT.setValue(key, 'otel'), emitter);
    bindEmitter(ctx, emitter);
    let inside: unknown;
    const listener = () => {
      inside = seen();
    };
    emitter.on('x', listener);
    emitter.emit('x');
    expect(inside).toBe('otel');
    emitter.removeListener('x', listener);
    expect(emitter.listenerCount('x')).toBe(0);
  });

  it('rejects a listener that is not a function as EventEmitter does', () => {
    const emitter = new EventEmitter();
    bindEmitter(ctx, emitter);
    expect(() => emitter.on('x', 'nope' as never)).toThrow(/"listener" argument must be of type function/);
  });
});
