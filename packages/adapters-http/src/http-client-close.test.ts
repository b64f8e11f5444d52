import { describe, expect, it } from 'vitest';
import { httpClient } from './http-client.js';
import { answer, testServer } from './testing/server.js';

const handles = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout');

describe('httpClient close', () => {
  it('leaves no socket or timer behind', async () => {
    const server = await testServer((_req, res, n) => answer(res, n === 1 ? 503 : 200, 'hello'));
    const before = handles();
    const client = httpClient({
      name: 'closing',
      baseUrl: server.url,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    expect(await (await client.get('/')).text()).toBe('hello');
    await client.close();
    // Closed handles leave the list once libuv has run their close callbacks.
    for (let i = 0; i < 50 && handles().length > before.length; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(handles()).toEqual(before);
    await server.close();
  });

  it('rejects calls after close with KEEL_ERR_CANCELLED', async () => {
    const client = httpClient({ name: 'closed', baseUrl: 'http://127.0.0.1:9' });
    await client.close();
    await expect(client.get('/')).rejects.toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
  });
});
