import { EventEmitter } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient } from './http-client.js';
import { answer, type TestServer, testServer } from './testing/server.js';

let server: TestServer | undefined;
let client: HttpClient | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await client?.close();
  await agent?.close();
  await server?.close();
  client = server = agent = undefined;
});

/** An undici Agent that records the `signal` each request is dispatched with. */
class RecordingAgent extends Agent {
  readonly signals: unknown[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.signals.push((options as { signal?: unknown }).signal);
    return super.dispatch(options, handler);
  }
}

describe('the signal of an attempt', () => {
  it('is an EventEmitter, a kind of signal undici documents, not an object shaped to take a private branch', async () => {
    server = await testServer((_req, res) => answer(res, 200));
    const recording = new RecordingAgent();
    agent = recording;
    client = httpClient({ name: 'signals', baseUrl: server.url, dispatcher: recording });
    await (await client.get('/')).dump();
    expect(recording.signals).toHaveLength(1);
    expect(recording.signals[0]).toBeInstanceOf(EventEmitter);
  });
});
