// The README-sync check every package's readme.test.ts runs: the names a README lists under
// "## Entry points" are exactly the names the entry's source file exports.
import { readFileSync } from 'node:fs';

/** Every name `file` exports (values and types), from its `export` statements. */
export function exportedNames(file: URL): string[] {
  const source = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of (list ?? '').split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name);
    }
  }
  for (const [, name] of source.matchAll(
    /export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    if (name) names.add(name);
  }
  return [...names].sort();
}

/** The names listed under `### \`entry\`` in the README's "## Entry points" section. */
export function listedNames(readme: string, entry: string): string[] {
  const section = /^## Entry points\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
  const heading = `### \`${entry}\``;
  const start = section.split('\n').findIndex((line) => line.startsWith(heading));
  if (start === -1) return [];
  const body: string[] = [];
  for (const line of section.split('\n').slice(start + 1)) {
    if (line.startsWith('### ')) break;
    body.push(line);
  }
  const names = [...body.join('\n').matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1] as string);
  return [...new Set(names)].sort();
}
