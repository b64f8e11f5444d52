// What every benchmark script reports about itself: its options, the versions it measured, the source it
// ran and the command that reproduces it.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));

/** The value of `--name=value` on the command line, or `fallback`. */
export function option(name, fallback) {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}

/** Whether `--name` is on the command line. */
export const flag = (name) => process.argv.includes(`--${name}`);

/**
 * The rounds of a load benchmark (express-server.js, telemetry-server.js, http-client.js), from
 * `--rounds`, `--duration` (s per contender and round) and `--warmup` (s per contender). Many short
 * rounds by default: this machine's speed drifts in bursts of seconds, and a long slice can land a
 * burst on one contender. `--quick` (what `npm run bench` runs): 4 rounds of 1 s after 1 s of warm-up.
 */
export function loadRounds() {
  const quick = flag('quick');
  return {
    rounds: Number(option('rounds', quick ? 4 : 10)),
    seconds: Number(option('duration', quick ? 1 : 2)),
    warmup: Number(option('warmup', quick ? 1 : 3)),
  };
}

/** `loadRounds()` plus the autocannon settings of the server benchmarks (`--connections`, `--pipelining`). */
export function serverLoad() {
  return {
    ...loadRounds(),
    connections: Number(option('connections', 10)),
    pipelining: Number(option('pipelining', 1)),
  };
}

/** The installed version of a package the benchmarks depend on. */
export function versionOf(pkg) {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (json.name === pkg) return json.version;
    } catch {}
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** The commit measured, noting uncommitted changes under `paths` (relative to the repository root). */
export function sourceState(paths) {
  const git = (...args) =>
    execFileSync('git', args, { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const root = git('rev-parse', '--show-toplevel');
    const dirty = paths.filter((p) => {
      try {
        git('-C', root, 'diff', '--quiet', 'HEAD', '--', p);
        return false;
      } catch {
        return true;
      }
    });
    return dirty.length === 0 ? commit : `${commit} + uncommitted changes in ${dirty.join(', ')}`;
  } catch {
    return 'unknown';
  }
}

/** The command that reproduces this run: the npm script when run through one, else the node command. */
export function command(scriptUrl) {
  const node = [
    'node',
    ...process.execArgv,
    relative(process.cwd(), fileURLToPath(scriptUrl)),
    ...process.argv.slice(2),
  ].join(' ');
  const event = process.env.npm_lifecycle_event;
  return event && event !== 'npx'
    ? `npm run ${event} (runs \`${process.env.npm_lifecycle_script}\` in benchmarks/)`
    : node;
}

/** The contender ids `--only=a,b` selects from `contenders` (all without it); `bare` is always kept. */
export function selectedIds(contenders) {
  const only = option('only', undefined)?.split(',');
  return Object.keys(contenders).filter((id) => id === 'bare' || only === undefined || only.includes(id));
}

/**
 * What every report says about its run: when, on which Node and machine, with which flags, the command
 * that reproduces it and the Keel source measured (`sources`, relative to the repository root).
 */
export function runMeta(scriptUrl, sources) {
  return {
    date: new Date().toISOString(),
    node: process.versions.node,
    v8: process.versions.v8,
    execArgv: process.execArgv,
    ...machine(),
    command: command(scriptUrl),
    keelSource: sourceState(sources),
  };
}

/** Starts the clock of a run: its start time and the machine's load average when it started. */
export function startRun() {
  return { started: Date.now(), loadStart: loadavg()[0] };
}

/**
 * The meta of a finished run (see lib/report.js): `runMeta` plus the versions of `packages`, the load
 * average at the start and end, the run time and `extra` (the script's settings).
 */
export function finishMeta(scriptUrl, sources, run, packages, extra = {}) {
  return {
    ...runMeta(scriptUrl, sources),
    versions: Object.fromEntries(packages.map((p) => [p, versionOf(p)])),
    loadStart: run.loadStart,
    loadEnd: loadavg()[0],
    durationS: (Date.now() - run.started) / 1000,
    quick: flag('quick'),
    ...extra,
  };
}
