import { execFile } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './create-logger.js';
import { defaultLogDestination, turnDestination } from './turn-destination.js';

const turnEnds = () => new Promise((resolve) => setImmediate(resolve));
const exitListeners = () => process.listeners('exit').length;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keel-turn-'));
  file = join(dir, 'out.log');
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('turnDestination', () => {
  it('writes the lines of one turn in one system call when the turn ends', async () => {
    const out = turnDestination({ dest: file });
    const writes = vi.spyOn(fs, 'writeSync');
    const log = pino(out);
    for (let i = 0; i < 5; i++) log.info({ i }, 'served');
    expect(readFileSync(file, 'utf8')).toBe('');
    await turnEnds();
    expect(lines().map((line) => JSON.parse(line).i)).toEqual([0, 1, 2, 3, 4]);
    expect(writes).toHaveBeenCalledTimes(1);
    log.info('next turn');
    await turnEnds();
    expect(lines()).toHaveLength(6);
    expect(writes).toHaveBeenCalledTimes(2);
    out.end();
  });

  it('writes at once when a turn holds more than maxBufferedChars', () => {
    const out = turnDestination({ dest: file, maxBufferedChars: 1024 });
    const line = `${'x'.repeat(299)}\n`;
    for (let i = 0; i < 3; i++) out.write(line);
    expect(readFileSync(file, 'utf8')).toBe('');
    out.write(line);
    expect(lines()).toHaveLength(4);
    out.end();
  });

  it('flushSync, flush and end write what is held; end refuses later lines', async () => {
    const out = turnDestination({ dest: file });
    out.write('a\n');
    out.flushSync();
    expect(lines()).toEqual(['a']);
    out.write('b\n');
    const flushed = vi.fn();
    pino(out).flush(flushed);
    expect(flushed).toHaveBeenCalledWith();
    expect(lines()).toEqual(['a', 'b']);
    out.write('c\n');
    out.end();
    expect(lines()).toEqual(['a', 'b', 'c']);
    expect(() => out.write('d\n')).toThrow(/write after end/);
  });

  it("holds its 'exit' listener and its immediate only while it holds lines", async () => {
    const before = exitListeners();
    const out = turnDestination({ dest: file });
    const other = turnDestination({ dest: join(dir, 'other.log') });
    out.write('a\n');
    other.write('b\n');
    expect(exitListeners()).toBe(before + 1);
    await turnEnds();
    expect(exitListeners()).toBe(before);
    out.write('c\n');
    out.end();
    other.end();
    expect(exitListeners()).toBe(before);
    expect(lines()).toEqual(['a', 'c']);
  });

  it('names the option and its range for bad input', () => {
    expect(() => turnDestination({ dest: -1 })).toThrow(TypeError);
    expect(() => turnDestination({ dest: '' })).toThrow(
      'turnDestination: option dest must be a file descriptor (an integer ≥ 0) or a non-empty path, received ""',
    );
    expect(() => turnDestination({ maxBufferedChars: 10 })).toThrow(RangeError);
    expect(() => turnDestination({ maxBufferedChars: 1.5 })).toThrow(
      'turnDestination: option maxBufferedChars must be an integer from 1024 to 16777216, received 1.5',
    );
  });

  it('is not used by default when standard output is captured: every line still reaches the capture', () => {
    const captured: string[] = [];
    const write = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => captured.push(String(chunk)) > 0);
    expect(defaultLogDestination()).toBeUndefined();
    createLogger({ serviceName: 'checkout' }).info('seen by the capture');
    expect(write).toHaveBeenCalled();
    expect(captured.join('')).toMatch(/"msg":"seen by the capture"/);
  });
});

// A process that exits within the turn its lines were written in must still write them. Runs the built
// package (`npm test` builds before it tests).
describe('turnDestination in a process that exits', () => {
  const run = async (body: string) => {
    const script = `import { createLogger } from '@keel/telemetry';\nconst log = createLogger({ serviceName: 'exiting' });\n${body}`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: import.meta.dirname,
    }).catch((error: { stdout: string }) => error);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).msg as string);
  };

  it('on process.exit()', async () => {
    expect(await run("log.info('before exit'); process.exit(0);")).toEqual(['before exit']);
  });

  it('on an uncaught exception', async () => {
    expect(await run("log.info('before the throw'); throw new Error('boom');")).toEqual(['before the throw']);
  });

  it('writes the lines of a turn in one system call by default', async () => {
    const body = [
      "const { default: fs } = await import('node:fs');",
      'const writeSync = fs.writeSync;',
      'let writes = 0;',
      'fs.writeSync = (...args) => { writes++; return writeSync(...args); };',
      "log.info('one'); log.info('two'); log.info('three');",
      "setImmediate(() => log.info('writes: ' + writes));",
    ].join('\n');
    expect(await run(body)).toEqual(['one', 'two', 'three', 'writes: 1']);
  });

  it('when the loop runs dry', async () => {
    expect(await run("log.info('last words');")).toEqual(['last words']);
  });
});
