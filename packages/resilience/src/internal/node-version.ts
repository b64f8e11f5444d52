/** The oldest Node.js every Keel package runs on: the `engines` field of each package says the same. */
export const REQUIRED_NODE = '22.15.0';

function parse(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split('.')
    .map((part) => Number.parseInt(part, 10) || 0);
}

/** Whether `found` (a `process.versions.node`) is at least `required`. */
export function nodeAtLeast(found: string, required: string = REQUIRED_NODE): boolean {
  const a = parse(found);
  const b = parse(required);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The one-line message for a Node.js older than Keel supports. */
export function nodeVersionMessage(found: string): string {
  return `Keel requires Node.js >= ${REQUIRED_NODE}, found ${found}; upgrade Node.js to run this service`;
}
