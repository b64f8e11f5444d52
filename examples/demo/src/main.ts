// The demo orchestrator: starts the five services as processes, drives load through the gateway, breaks
// payments in phases, shows what each service's /metrics says, and ends with a summary and one trace.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderTrace } from '@keel/telemetry';
import amqp from 'amqplib';
import { parseOptions, USAGE, UsageError } from './cli.js';
import { type Child, killAllNow, stopAll } from './orchestrator/children.js';
import { startLoad } from './orchestrator/load.js';
import { Monitor } from './orchestrator/monitor.js';
import { PHASES, phaseStarts } from './orchestrator/phases.js';
import { messageCounts, SUBSCRIBERS } from './orchestrator/readings.js';
import { hostPort, reachableHost, scrapeAll } from './orchestrator/scrape.js';
import { Screen } from './orchestrator/screen.js';
import { style, useColor } from './orchestrator/style.js';
import { buildSummary, summaryText } from './orchestrator/summary.js';
import { startSystem } from './orchestrator/system.js';
import { TraceCollector, toReadableSpan } from './orchestrator/traces.js';
import type { Phase, ServiceName } from './protocol.js';
import { brokerNames } from './services/messaging.js';

const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
/** How long stopped services get before they are killed. */
const STOP_GRACE_MS = 6_000;
/** How long the end of a run waits for the subscribers to finish the messages published. */
const DRAIN_WAIT_MS = 15_000;

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

/** A few orders one at a time, so connections are open and code is warm before the clock starts. */
async function warmUp(gatewayUrl: string): Promise<void> {
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
  const screen = new Screen(process.stdout);
  const s = style(useColor(process.stdout));
  const print = (line?: string): void => screen.print(line);

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
  const { exchange } = brokerNames(run);

  const children: Child[] = [];
  const traces = new TraceCollector(services.length, messaging ? SUBSCRIBERS.length : 0);
  let stopping = false;
  let stopLoad: (() => void) | undefined;
  let crash: { child: Child; code: number | string } | undefined;
  // Ends the run early: a service crashed, or Ctrl-C under --follow (`interrupted`).
  let endRunNow: () => void = () => {};
  const endRun = new Promise<void>((resolve) => {
    endRunNow = resolve;
  });
  let interrupted: (() => void) | undefined;

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

  let byName: Map<ServiceName, Child>;
  try {
    byName = await startSystem({
      run,
      amqpUrl: messaging ? amqpUrl : undefined,
      metricsPortBase: options.metricsPortBase,
      metricsHost: options.metricsHost,
      started: children,
      onSpans: (spans) => traces.add(spans),
      onExit(child, code) {
        if (stopping || crash !== undefined) return;
        crash = { child, code };
        endRunNow();
      },
    });
  } catch (error) {
    stopping = true;
    console.error(`demo: ${(error as Error).message}`);
    await stopAll(children, STOP_GRACE_MS);
    return 1;
  }
  const ordered = services.map((name) => byName.get(name)!);
  const scrapeHost = reachableHost(options.metricsHost);
  const metricsPorts = Object.fromEntries(ordered.map((c) => [c.name, c.metricsPort]));
  if (options.targetsFile !== undefined) {
    const targets = ordered.map((c) => ({
      targets: [hostPort(scrapeHost, c.metricsPort)],
      labels: { service: c.name },
    }));
    await writeFile(options.targetsFile, `${JSON.stringify(targets, null, 2)}\n`);
  }

  const gatewayUrl = `http://127.0.0.1:${byName.get('gateway')!.port}`;
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

  await warmUp(gatewayUrl);
  let phase: Phase = 'healthy';
  const payments = byName.get('payments')!;
  payments.send({ type: 'phase', phase });
  const targets = ordered.map((c) => ({ name: c.name, metricsPort: c.metricsPort, host: scrapeHost }));
  const first = await scrapeAll(targets);
  const load = startLoad(gatewayUrl, options.rate, phase);
  stopLoad = () => void load.stop();
  const t0 = performance.now();
  const monitor = new Monitor({ targets, services, messaging, screen, style: s }, load, phase, first);
  const refreshMs = screen.tty ? 1_000 : 5_000;
  let ended = false;
  if (options.follow) interrupted = endRunNow;
  void endRun.then(() => {
    ended = true;
  });
  const heading = (elapsedMs: number): void => {
    const info = PHASES.find((p) => p.name === phase)!;
    print(s.bold(`── ${Math.round(elapsedMs / 1_000)} s: ${phase} — ${info.what}`));
    if (!screen.tty) print();
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
      const boundary = await monitor.endPhase(phase);
      phase = next;
      payments.send({ type: 'phase', phase });
      load.setPhase(phase);
      monitor.startPhase(phase, boundary);
      heading(elapsedMs);
    } else if (monitor.sinceLastMs >= refreshMs) await monitor.render(phase);
  }
  interrupted = undefined;
  if (crash !== undefined) {
    await load.stop();
    return reportCrash();
  }

  await monitor.endPhase(phase);
  const loadSeconds = (performance.now() - t0) / 1_000;
  print('Load stopped; waiting for the requests in flight and the queues to drain.');
  await load.stop();
  let final = await monitor.scrape();
  const deadline = performance.now() + DRAIN_WAIT_MS;
  while (messaging && performance.now() < deadline) {
    const counts = messageCounts(final);
    const done = Object.values(counts.subscribers).reduce((n, c) => n + c.acked + c.deadLettered, 0);
    if (done >= counts.published * SUBSCRIBERS.length) break;
    await sleep(250);
    final = await monitor.scrape();
  }
  await sleep(400); // the services forward finished spans every 200 ms
  if (crash !== undefined) return reportCrash();
  stopping = true;
  await stopAll(children, STOP_GRACE_MS);

  const best = traces.best();
  const summary = buildSummary({
    durationS: Math.round(loadSeconds),
    exchange,
    rate: options.rate,
    messaging,
    load: load.stats,
    intervals: monitor.intervals,
    final,
    breakerStates: monitor.breakerStates,
    trace: best,
    pids: children.map((c) => c.pid),
    metricsPorts,
  });
  const traceText =
    best === undefined
      ? undefined
      : renderTrace(best.map(toReadableSpan), {
          color: useColor(process.stdout),
          ...(screen.tty ? {} : { width: 120 }),
        });
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
