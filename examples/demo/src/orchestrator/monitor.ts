import type { Phase, ServiceName } from '../protocol.js';
import type { LoadGenerator } from './load.js';
import { breakerState } from './readings.js';
import { type ScrapeTarget, type Snapshot, scrapeAll } from './scrape.js';
import type { Screen } from './screen.js';
import type { Style } from './style.js';
import type { Interval } from './summary.js';
import { renderView } from './view.js';

export interface MonitorOptions {
  readonly targets: readonly ScrapeTarget[];
  readonly services: readonly ServiceName[];
  readonly messaging: boolean;
  readonly screen: Screen;
  readonly style: Style;
}

/**
 * Scrapes the services, draws the live view, and keeps what the summary needs: the scrapes at each phase's
 * two ends and the breaker states seen.
 */
export class Monitor {
  readonly intervals: Interval[];
  readonly breakerStates: string[] = [];
  readonly #options: MonitorOptions;
  readonly #load: LoadGenerator;
  readonly #t0: number;
  #last: Snapshot;
  #lastLoad: { at: number; sent: number; ok: number };

  /** Starts from `first`, the scrape taken as `load` started in `phase`. */
  constructor(options: MonitorOptions, load: LoadGenerator, phase: Phase, first: Snapshot) {
    this.#options = options;
    this.#load = load;
    this.#t0 = first.at;
    this.#last = first;
    this.#lastLoad = { at: first.at, sent: 0, ok: 0 };
    this.intervals = [{ phase, start: first, end: first }];
    this.#noteBreaker(first);
  }

  /** Milliseconds since the last block was drawn. */
  get sinceLastMs(): number {
    return performance.now() - this.#last.at;
  }

  #noteBreaker(snapshot: Snapshot): void {
    const state = breakerState(snapshot);
    if (state !== '?' && this.breakerStates.at(-1) !== state) this.breakerStates.push(state);
  }

  /** Scrapes every service; the current phase now ends at this scrape. */
  async scrape(): Promise<Snapshot> {
    const now = await scrapeAll(this.#options.targets);
    this.#noteBreaker(now);
    this.intervals.at(-1)!.end = now;
    return now;
  }

  /** Draws the block for the interval since the last one, labelled with `phase`. */
  async render(phase: Phase): Promise<Snapshot> {
    const now = await this.scrape();
    const load = { at: performance.now(), sent: this.#load.totals.sent, ok: this.#load.totals.ok };
    const sent = load.sent - this.#lastLoad.sent;
    const { screen, style, services, messaging } = this.#options;
    screen.draw(
      renderView(
        this.#last,
        now,
        {
          elapsedS: (now.at - this.#t0) / 1_000,
          phase,
          services,
          messaging,
          load: {
            perSecond: (sent * 1_000) / Math.max(1, load.at - this.#lastLoad.at),
            okRatio: sent > 0 ? (load.ok - this.#lastLoad.ok) / sent : undefined,
          },
        },
        style,
      ),
    );
    this.#lastLoad = load;
    this.#last = now;
    return now;
  }

  /** Draws the phase's last block (unless one was just drawn) and leaves it on screen. */
  async endPhase(phase: Phase): Promise<Snapshot> {
    const now = this.sinceLastMs >= 500 ? await this.render(phase) : this.#last;
    this.#options.screen.keep();
    return now;
  }

  /** The next phase starts at `boundary`, the scrape that ended the previous one. */
  startPhase(phase: Phase, boundary: Snapshot): void {
    this.intervals.push({ phase, start: boundary, end: boundary });
  }
}
