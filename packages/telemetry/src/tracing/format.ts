import type { AttributeValue, HrTime } from '@opentelemetry/api';

// Text helpers for the terminal waterfall. Widths count UTF-16 units: span names are ASCII in practice.

/** Milliseconds from `from` to `to`, computed on the parts so epoch-sized seconds cost no precision. */
export function msBetween(from: HrTime, to: HrTime): number {
  return (to[0] - from[0]) * 1e3 + (to[1] - from[1]) / 1e6;
}

/** A short human duration: `420 µs`, `4.20 ms`, `42.0 ms`, `420 ms`, `4.20 s`, `7m 05s`. */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return '0 ms';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/** `text` cut to `width` characters, the last one an ellipsis when something was cut. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 0 ? '' : `${text.slice(0, width - 1)}…`;
}

/** `text` cut or padded with spaces to exactly `width` characters. */
export function fit(text: string, width: number): string {
  return truncate(text, width).padEnd(width);
}

/** An attribute value on one line, long values cut so an event line stays readable. */
export function formatValue(value: AttributeValue | undefined, max = 40): string {
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.map((v) => String(v)).join(',') : String(value);
  return truncate(text.replace(/\s+/g, ' '), max);
}

/** The styles the waterfall uses; every one is the identity when color is off. */
export interface Palette {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  /** A stable color per service, so one service's bars read as one. */
  service(name: string, text: string): string;
}

const sgr = (open: number, close: number) => (text: string) =>
  text === '' ? '' : `\u001b[${open}m${text}\u001b[${close}m`;
const SERVICE_COLORS = [36, 35, 34, 33, 32, 96, 95, 94];

/** ANSI styles when `color` is true; plain text otherwise. */
export function palette(color: boolean): Palette {
  if (!color) {
    const plain = (text: string) => text;
    return {
      dim: plain,
      bold: plain,
      red: plain,
      green: plain,
      yellow: plain,
      service: (_name, text) => text,
    };
  }
  return {
    dim: sgr(2, 22),
    bold: sgr(1, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    service(name, text) {
      let hash = 0;
      for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
      return sgr(SERVICE_COLORS[hash % SERVICE_COLORS.length] ?? 36, 39)(text);
    },
  };
}

/** Color by default only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function defaultColor(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

/** The terminal's width, or 100 columns when stdout is not a terminal. */
export function defaultWidth(): number {
  return process.stdout.isTTY === true && process.stdout.columns > 0 ? process.stdout.columns : 100;
}
