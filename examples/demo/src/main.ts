// The demo orchestrator: starts the five services as processes, drives load through the gateway, breaks
// payments in phases, shows what each service's /metrics says, and ends with a summary and one trace.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderTrace } from '@keel/telemetry';
import amqp from 'amqplib';
import { parseOptions, USAGE, UsageError } from './cli.js';
import { type Child, forkService, killAllNow, stopAll } from './orchestrator/children.js';
import { startLoad } from './orchestrator/load.js';
import { PHASES, phaseStarts } from './orchestrator/phases.js';
import { breakerState, messageCounts, SUBSCRIBERS } from './orchestrator/readings.js';
import { type Snapshot, scrapeAll } from './orchestrator/scrape.js';
import { style, useColor } from './orchestrator/style.js';
import { buildSummary, type Interval, summaryText } from './orchestrator/summary.js';
import { TraceCollector, toReadableSpan } from './orchestrator/traces.js';
import { renderView } from './orchestrator/view.js';
import type { Phase, ServiceConfig, ServiceName } from './protocol.js';
import { brokerNames } from './services/messaging.js';

const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const STOP_GRACE_MS = 6_000;
const DRAIN_WAIT_MS = 15_000;
/** Port offsets under --metrics-port-base. */
const PORT_OFFSET: Record<ServiceName, number> = {
  gateway: 0,
  orders: 1,
  payments: 2,
  inventory: 3,
  notifications: 4,
};

function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function brokerReachable(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Visible width of a line, ANSI sequences left out. */
function visibleWidth(line: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`demo: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const out = process.stdout;
  const tty = out.isTTY === true;
  const s = style(useColor(out));
  const print = (line = ''): void => {
    out.write(`${line}\n`);
  };

  const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const messaging = await brokerReachable(amqpUrl);
  if (!messaging) {
    print(
      `RabbitMQ is not reachable at ${shownUrl(amqpUrl)} (AMQP_URL): the messaging leg (inventory, notifications) is skipped.`,
    );
  }
  const services: ServiceName[] = messaging
    ? ['gateway', 'orders', 'payments', 'inventory', 'notifications']
    : ['gateway', 'orders', 'payments'];

  const run = randomBytes(3).toString('hex');
  const exchange = brokerNames(run).exchange;
  const children: Child[] = [];
  const traces = new TraceCollector(services.length, messaging ? SUBSCRIBERS.length : 0);
  let stopping = false;
  let stopLoad: (() => void) | undefined;
  let interrupted: (() => void) | undefined;
  let crash: { child: Child; code: number | string } | undefined;
  // Resolved early by a crashed service, or by Ctrl-C under --follow.
  let endRunNow: () => void = () => {};
  const endRun = new Promise<void>((resolve) => {
    endRunNow = resolve;
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping && interrupted === undefined) {
      // A second Ctrl-C while stopping: no more waiting.
      killAllNow();
      process.exit(130);
    }
    if (interrupted !== undefined) {
      print(`\n${signal}: stopping.`);
      const stop = interrupted;
      interrupted = undefined;
      stop();
      return;
    }
    stopping = true;
    stopLoad?.();
    print(`\n${signal}: stopping the services.`);
    void stopAll(children, STOP_GRACE_MS).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);

  /** Stops the other services and names the one that died, with its last stderr lines. */
  const reportCrash = async (): Promise<number> => {
    stopping = true;
    const { child, code } = crash!;
    print(s.red(`\n✗ ${child.name} (pid ${child.pid}) exited unexpectedly (${code}).`));
    const tail = child.stderrTail();
    if (tail.length > 0) print(`  Its last stderr lines:\n    ${tail.join('\n    ')}`);
    await stopAll(children, STOP_GRACE_MS);
    return 1;
  };

  const start = async (config: ServiceConfig): Promise<Child> => {
    const child = await forkService(config, {
      onSpans: (spans) => traces.add(spans),
      onExit(c, code) {
        if (stopping || crash !== undefined) return;
        crash = { child: c, code };
        endRunNow();
      },
    });
    children.push(child);
    return child;
  };
  const metricsPort = (name: ServiceName): number =>
    options.metricsPortBase === undefined ? 0 : options.metricsPortBase + PORT_OFFSET[name];
  const broker = messaging ? amqpUrl : undefined;

  let gateway: Child;
  try {
    // The subscribers bind their queues before orders can publish; the chain starts from its far end.
    const [payments] = await Promise.all([
      start({ run, service: 'payments', metricsPort: metricsPort('payments') }),
      ...(messaging
        ? SUBSCRIBERS.map((name) =>
            start({ run, service: name, metricsPort: metricsPort(name), amqpUrl: broker }),
          )
        : []),
    ]);
    const orders = await start({
      run,
      service: 'orders',
      metricsPort: metricsPort('orders'),
      amqpUrl: broker,
      paymentsUrl: `http://127.0.0.1:${payments!.port}`,
    });
    gateway = await start({
      run,
      service: 'gateway',
      metricsPort: metricsPort('gateway'),
      ordersAddress: `127.0.0.1:${orders.port}`,
    });
  } catch (error) {
    stopping = true;
    console.error(`demo: ${(error as Error).message}`);
    await stopAll(children, STOP_GRACE_MS);
    return 1;
  }
  const byName = new Map(children.map((c) => [c.name, c]));
  const ordered = services.map((name) => byName.get(name)!);
  const metricsPorts = Object.fromEntries(ordered.map((c) => [c.name, c.metricsPort]));
  if (options.targetsFile !== undefined) {
    const targets = ordered.map((c) => ({
      targets: [`127.0.0.1:${c.metricsPort}`],
      labels: { service: c.name },
    }));
    await writeFile(options.targetsFile, `${JSON.stringify(targets, null, 2)}\n`);
  }

  const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  print(s.bold(`Keel demo: ${services.length} services, one process each`));
  print(
    `  gateway ${gatewayUrl} (Express) → orders 127.0.0.1:${byName.get('orders')!.port} (gRPC) → payments (HTTP)`,
  );
  if (messaging) print(`  orders → RabbitMQ topic exchange ${exchange} → inventory, notifications`);
  print(`  /metrics: ${ordered.map((c) => `${c.name} :${c.metricsPort}`).join(', ')}`);
  print(
    options.follow
      ? `  ${options.rate} req/s until Ctrl-C; each cycle of the four phases takes ${options.durationS} s`
      : `  ${options.rate} req/s for ${options.durationS} s: ${PHASES.map((p) => p.name).join(' → ')}`,
  );
  print();

  const starts = phaseStarts(options.durationS);
  const cycleMs = options.durationS * 1_000;
  const phaseAt = (elapsedMs: number): Phase => {
    const t = options.follow ? elapsedMs % cycleMs : elapsedMs;
    let index = 0;
    for (let i = 0; i < starts.length; i++) if (t >= starts[i]!) index = i;
    return PHASES[index]!.name;
  };

  // A few orders one at a time first, so connections are open and code is warm before the clock starts.
  for (let i = 0; i < 10; i++) {
    await fetch(`${gatewayUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"sku":"kettle","quantity":1}',
    }).then(
      (res) => res.arrayBuffer(),
      () => undefined,
    );
  }

  let phase: Phase = 'healthy';
  const paymentsChild = byName.get('payments')!;
  paymentsChild.send({ type: 'phase', phase });
  const targets = ordered.map((c) => ({ name: c.name, metricsPort: c.metricsPort }));
  const last: Snapshot = await scrapeAll(targets);
  const intervals: Interval[] = [{ phase, start: last, end: last }];
  const breakerStates: string[] = [];
  const noteBreaker = (snapshot: Snapshot): void => {
    const state = breakerState(snapshot);
    if (state !== '?' && breakerStates.at(-1) !== state) breakerStates.push(state);
  };
  noteBreaker(last);

  const load = startLoad(gatewayUrl, options.rate, phase);
  stopLoad = () => void load.stop();
  const t0 = performance.now();
  const refreshMs = tty ? 1_000 : 5_000;
  let lastRender = last;
  let drawn = 0;
  let lastLoad = { at: t0, sent: 0, ok: 0 };
  let ended = false;
  if (options.follow) interrupted = endRunNow;
  void endRun.then(() => {
    ended = true;
  });

  const draw = (lines: string[]): void => {
    if (!tty) {
      for (const line of lines) print(line);
      print();
      return;
    }
    const columns = out.columns ?? 100;
    if (drawn > 0) out.write(`\x1b[${drawn}A\r\x1b[J`);
    for (const line of lines) print(line);
    drawn = lines.reduce((n, line) => n + Math.max(1, Math.ceil(visibleWidth(line) / columns)), 0);
  };
  /** Scrapes every service and draws the block for the interval since the last one, labelled `label`. */
  const render = async (label: Phase): Promise<Snapshot> => {
    const now = await scrapeAll(targets);
    noteBreaker(now);
    intervals.at(-1)!.end = now;
    const loadNow = { at: performance.now(), sent: load.totals.sent, ok: load.totals.ok };
    const sentDelta = loadNow.sent - lastLoad.sent;
    draw(
      renderView(
        lastRender,
        now,
        {
          elapsedS: (now.at - t0) / 1_000,
          phase: label,
          services,
          messaging,
          load: {
            perSecond: (sentDelta * 1_000) / Math.max(1, loadNow.at - lastLoad.at),
            okRatio: sentDelta > 0 ? (loadNow.ok - lastLoad.ok) / sentDelta : undefined,
          },
        },
        s,
      ),
    );
    lastLoad = loadNow;
    lastRender = now;
    return now;
  };
  /** The last block of a phase stays on screen above the next phase's heading. */
  const endPhase = async (): Promise<Snapshot> => {
    const now = performance.now() - lastRender.at >= 500 ? await render(phase) : lastRender;
    drawn = 0;
    return now;
  };
  const heading = (elapsedMs: number): void => {
    const info = PHASES.find((p) => p.name === phase)!;
    print(s.bold(`── ${Math.round(elapsedMs / 1_000)} s: ${phase} — ${info.what}`));
    if (!tty) print();
  };
  heading(0);

  while (!ended) {
    await Promise.race([sleep(250), endRun]);
    if (ended) break;
    // Interrupted: the signal handler stops the services and exits; nothing more to draw.
    if (stopping) return new Promise<number>(() => {});
    const elapsedMs = performance.now() - t0;
    if (!options.follow && elapsedMs >= cycleMs) break;
    const next = phaseAt(elapsedMs);
    if (next !== phase) {
      const boundary = await endPhase();
      phase = next;
      paymentsChild.send({ type: 'phase', phase });
      load.setPhase(phase);
      intervals.push({ phase, start: boundary, end: boundary });
      heading(elapsedMs);
      continue;
    }
    if (performance.now() - lastRender.at >= refreshMs) await render(phase);
  }
  interrupted = undefined;

  if (crash !== undefined) {
    await load.stop();
    return reportCrash();
  }

  await endPhase();
  const loadSeconds = (performance.now() - t0) / 1_000;
  print('Load stopped; waiting for the requests in flight and the queues to drain.');
  await load.stop();
  let final = await scrapeAll(targets);
  if (messaging) {
    const deadline = performance.now() + DRAIN_WAIT_MS;
    for (;;) {
      const counts = messageCounts(final);
      const done = Object.values(counts.subscribers).reduce((n, c) => n + c.acked + c.deadLettered, 0);
      if (done >= counts.published * SUBSCRIBERS.length || performance.now() > deadline) break;
      await sleep(250);
      final = await scrapeAll(targets);
    }
  }
  noteBreaker(final);
  intervals.at(-1)!.end = final;
  await sleep(400); // the services forward finished spans every 200 ms
  if (crash !== undefined) return reportCrash();
  stopping = true;
  await stopAll(children, STOP_GRACE_MS);

  const summary = buildSummary({
    durationS: Math.round(loadSeconds),
    exchange,
    rate: options.rate,
    messaging,
    load: load.stats,
    intervals,
    final,
    breakerStates,
    trace: traces.best(),
    pids: children.map((c) => c.pid),
    metricsPorts,
  });
  const best = traces.best();
  const traceText =
    best === undefined
      ? undefined
      : renderTrace(best.map(toReadableSpan), { color: useColor(out), ...(tty ? {} : { width: 120 }) });
  for (const line of summaryText(summary, s, traceText)) print(line);
  if (options.summaryJson !== undefined) {
    await writeFile(options.summaryJson, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('demo failed:', error);
    killAllNow();
    process.exit(1);
  },
);
