import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** One query of one panel, named the way a reader finds it in Grafana. */
export interface PanelQuery {
  readonly dashboard: string;
  /** The row the panel sits under, then the panel title: `Retries › Retry budget tokens`. */
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly exemplar: boolean;
}

interface TargetLike {
  readonly refId?: string;
  readonly expr?: string;
  readonly exemplar?: boolean;
}

interface PanelLike {
  readonly type?: string;
  readonly title?: string;
  readonly targets?: readonly TargetLike[];
  readonly panels?: readonly PanelLike[];
}

/** Every Prometheus query of every panel of `dashboard`, in grid order, rows' nested panels included. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const found: PanelQuery[] = [];
  let row = '';
  const visit = (panel: PanelLike): void => {
    if (panel.type === 'row') {
      row = panel.title ?? '';
      for (const nested of panel.panels ?? []) visit(nested);
      return;
    }
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      found.push({
        dashboard: dashboard.title ?? '',
        panel: row === '' ? (panel.title ?? '') : `${row} › ${panel.title ?? ''}`,
        refId: target.refId ?? '',
        expr: target.expr,
        exemplar: target.exemplar === true,
      });
    }
  };
  for (const panel of (dashboard.panels ?? []) as PanelLike[]) visit(panel);
  return found;
}

/** A query variable's `label_values(selector, label)`, split; `undefined` for any other query. */
export function labelValuesQuery(query: string): { selector: string; label: string } | undefined {
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  return match === null ? undefined : { selector: match[1]!, label: match[2]! };
}
