/** Visible width of a line, ANSI sequences left out. */
function visibleWidth(line: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;
}

/**
 * The terminal, or a pipe. On a terminal the live block is redrawn in place (cursor up, clear to the end);
 * otherwise each block is printed after the last, with a blank line between.
 */
export class Screen {
  readonly #out: NodeJS.WriteStream;
  readonly tty: boolean;
  /** Terminal rows the live block occupies, 0 when there is none to redraw. */
  #drawn = 0;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
    this.tty = out.isTTY === true;
  }

  print(line = ''): void {
    this.#out.write(`${line}\n`);
  }

  /** Replaces the live block with `lines` (on a pipe: prints them). */
  draw(lines: readonly string[]): void {
    if (!this.tty) {
      for (const line of lines) this.print(line);
      this.print();
      return;
    }
    const columns = this.#out.columns ?? 100;
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A\r\x1b[J`);
    for (const line of lines) this.print(line);
    this.#drawn = lines.reduce((n, line) => n + Math.max(1, Math.ceil(visibleWidth(line) / columns)), 0);
  }

  /** Leaves the live block on screen: the next `draw` starts below it. */
  keep(): void {
    this.#drawn = 0;
  }
}
