import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { resilience } from './resilience.js';
import { serviceOverview } from './service-overview.js';

/** A dashboard and the file under `grafana/` it is written to. */
export interface DashboardFile {
  readonly file: string;
  readonly build: () => Dashboard;
}

/** Every dashboard this package ships, in the order the provisioning lists them. */
export const DASHBOARDS: readonly DashboardFile[] = [
  { file: 'service-overview.json', build: serviceOverview },
  { file: 'resilience.json', build: resilience },
];

/** The folder the JSON is committed in, beside `src/` and `dist/`. */
export const GRAFANA_DIR = new URL('../grafana/', import.meta.url);

/** The exact text committed for a dashboard: two-space JSON and a final newline. */
export function render(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
