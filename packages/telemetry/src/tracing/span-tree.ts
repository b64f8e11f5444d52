import type { HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** One span with its children, in start order. */
export interface SpanNode {
  readonly span: ReadableSpan;
  readonly children: SpanNode[];
}

function compareTime(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}

function byStart(a: SpanNode, b: SpanNode): number {
  return compareTime(a.span.startTime, b.span.startTime);
}

/**
 * The spans of one trace as a forest: each child under its parent, siblings by start time. A span whose parent
 * is missing (not exported yet, dropped, or in another service's store) becomes a root rather than vanishing.
 */
export function spanTree(spans: readonly ReadableSpan[]): SpanNode[] {
  const nodes = spans.map((span): SpanNode => ({ span, children: [] }));
  const byId = new Map<string, SpanNode>();
  for (const node of nodes) {
    const id = node.span.spanContext().spanId;
    if (!byId.has(id)) byId.set(id, node);
  }
  const parentOf = new Map<SpanNode, SpanNode>();
  const roots: SpanNode[] = [];
  for (const node of nodes) {
    const parentId = node.span.parentSpanContext?.spanId;
    const parent = parentId === undefined ? undefined : byId.get(parentId);
    if (parent === undefined || parent === node) {
      roots.push(node);
    } else {
      parent.children.push(node);
      parentOf.set(node, parent);
    }
  }
  // Corrupt parent links can form a cycle with no root; cut it so every span is still shown exactly once.
  const seen = new Set<SpanNode>();
  const visit = (node: SpanNode): void => {
    seen.add(node);
    for (const child of node.children) if (!seen.has(child)) visit(child);
  };
  for (const root of roots) visit(root);
  for (const node of nodes) {
    if (seen.has(node)) continue;
    const parent = parentOf.get(node);
    if (parent !== undefined) parent.children.splice(parent.children.indexOf(node), 1);
    roots.push(node);
    visit(node);
  }
  const sort = (list: SpanNode[]): void => {
    list.sort(byStart);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}
