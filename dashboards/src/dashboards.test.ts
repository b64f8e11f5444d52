import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, GRAFANA_DIR, render } from './dashboards.js';
import { panelQueries } from './panel-queries.js';
import { PROMETHEUS } from './panels.js';

describe.each(DASHBOARDS)('grafana/$file', ({ file, build }) => {
  it('is exactly what its builder generates (npm run -w @keel/dashboards generate rewrites it)', async () => {
    const committed = await readFile(new URL(file, GRAFANA_DIR), 'utf8');
    expect(committed, `dashboards/grafana/${file} is stale: regenerate it`).toBe(render(build()));
  });

  it('numbers its panels uniquely and queries the $datasource variable from each', () => {
    const dashboard = build();
    const panels = dashboard.panels ?? [];
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const panel of panels) {
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual(PROMETHEUS);
    }
  });

  it('scopes every query by the $service variable, so picking a service filters every panel', () => {
    for (const query of panelQueries(build())) {
      expect(query.expr, `${query.panel} ${query.refId}`).toContain('service=~"$service"');
    }
  });
});

describe('the Resilience dashboard', () => {
  it('scopes every resilience_* query by the $pipeline variable', () => {
    const resilience = DASHBOARDS.find(({ file }) => file === 'resilience.json')!.build();
    const queries = panelQueries(resilience).filter(({ expr }) => expr.includes('resilience_'));
    expect(queries.length).toBeGreaterThan(5);
    for (const query of queries) expect(query.expr, query.panel).toContain('pipeline=~"$pipeline"');
  });
});
