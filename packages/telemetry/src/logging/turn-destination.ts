import { invalidOption, optionalNumber } from '@keel/resilience/adapter';
import pino, { type DestinationStream } from 'pino';

/** Options of {@link turnDestination}. */
export interface TurnDestinationOptions {
  /** A file descriptor or a file path (appended to, created if missing). @default 1, standard output */
  readonly dest?: number | string;
  /**
   * Lines held in one event-loop turn, in UTF-16 code units, before they are written at once without
   * waiting for the turn to end: bounds the memory a burst of logging can hold. 1024–16777216.
   * @default 65536
   */
  readonly maxBufferedChars?: number;
}

/** The destination {@link turnDestination} returns: pino's `DestinationStream`, plus flushing and closing. */
export interface TurnDestination extends DestinationStream {
  readonly writable: boolean;
  write(line: string): boolean;
  /** Writes every held line now, synchronously. */
  flushSync(): void;
  /** pino's `logger.flush(callback)` lands here: writes every held line, then calls back. */
  flush(callback?: (error?: Error) => void): void;
  /** Writes what is held and closes the file (standard output and standard error stay open). */
  end(): void;
}

const MIN_BUFFER = 1024;
const MAX_BUFFER = 16 * 1024 * 1024;

// Destinations holding lines, flushed by one 'exit' listener that is registered only while any holds some:
// a process that exits (process.exit(), an uncaught exception, the loop running dry) loses nothing.
const holding = new Set<Turn>();

function flushHolding(): void {
  for (const turn of [...holding]) {
    try {
      turn.flushSync();
    } catch {
      // The process is exiting: one destination that cannot write must not keep the others from it.
    }
  }
}

/**
 * Keel's default log destination: lines written during one event-loop turn leave in one synchronous
 * `write(2)` when the turn ends (a `setImmediate`), instead of one system call per line. A loaded server
 * finishes several requests per turn, each with its
 * access log line, and on some virtual machines a system call costs microseconds. A line waits at most
 * until the end of the turn it was written in, and is written at once on `flushSync()`, `flush()`,
 * `end()`, `process.exit()`, an uncaught exception and when the loop runs dry; only a process killed
 * within the turn (SIGKILL, or a signal it has no handler for) loses that turn's lines.
 *
 * pino's own default for standard output (what `pino()` and `pino.destination(1)` build) is
 * asynchronous: a write goes through libuv's thread pool, lines logged meanwhile wait for it, and a
 * killed process loses whatever is waiting, however many turns that spans. For one synchronous write per
 * line, give the logger `pino.destination({ dest: 1, sync: true })`.
 *
 * @example
 * const logger = pino(turnDestination({ dest: '/var/log/orders.log' }));
 */
export function turnDestination(options?: TurnDestinationOptions): TurnDestination {
  const dest = options?.dest ?? 1;
  const isFd = typeof dest === 'number' && Number.isInteger(dest) && dest >= 0;
  if (!isFd && (typeof dest !== 'string' || dest === '')) {
    invalidOption('turnDestination', 'dest', 'a file descriptor (an integer ≥ 0) or a non-empty path', dest);
  }
  const max = optionalNumber(
    'turnDestination',
    'maxBufferedChars',
    options?.maxBufferedChars,
    65_536,
    MIN_BUFFER,
    MAX_BUFFER,
  );
  return new Turn(pino.destination({ dest, sync: true }), max);
}

/**
 * The destination Keel's default logger writes to: `turnDestination()` on standard output's descriptor,
 * unless standard output is not the process's own (a worker thread's) or its `write` was replaced (a test
 * runner or a log shipper capturing it). Then undefined, so pino writes through `process.stdout` as its
 * default does, and whatever captures it still sees every line.
 */
export function defaultLogDestination(): TurnDestination | undefined {
  const { stdout } = process;
  const own = typeof stdout.fd === 'number' && stdout.write === Object.getPrototypeOf(stdout).write;
  return own ? turnDestination({ dest: stdout.fd }) : undefined;
}

class Turn implements TurnDestination {
  readonly #out: ReturnType<typeof pino.destination>;
  readonly #max: number;
  #lines: string[] = [];
  #chars = 0;
  #pending: NodeJS.Immediate | undefined;
  #ended = false;

  /** True until `end()`; also what tells `pino(destination)` that its one argument is a stream. */
  get writable(): boolean {
    return !this.#ended;
  }

  constructor(out: ReturnType<typeof pino.destination>, max: number) {
    this.#out = out;
    this.#max = max;
  }

  write(line: string): boolean {
    if (this.#ended) throw new Error('turnDestination: write after end()');
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#max) {
      this.flushSync();
    } else if (this.#pending === undefined) {
      // Unreferenced: held lines never keep a process alive; 'exit' writes them if the loop runs dry.
      this.#pending = setImmediate(flushTurn, this).unref();
      if (holding.size === 0) process.on('exit', flushHolding);
      holding.add(this);
    }
    return true;
  }

  flushSync(): void {
    if (this.#pending !== undefined) {
      clearImmediate(this.#pending);
      this.#pending = undefined;
      holding.delete(this);
      if (holding.size === 0) process.removeListener('exit', flushHolding);
    }
    const lines = this.#lines;
    if (lines.length === 0) return;
    this.#lines = [];
    this.#chars = 0;
    this.#out.write(lines.length === 1 ? (lines[0] as string) : lines.join(''));
  }

  flush(callback?: (error?: Error) => void): void {
    try {
      this.flushSync();
    } catch (error) {
      callback?.(error as Error);
      return;
    }
    callback?.();
  }

  end(): void {
    if (this.#ended) return;
    this.flushSync();
    this.#ended = true;
    this.#out.end();
  }
}

function flushTurn(turn: Turn): void {
  turn.flushSync();
}
