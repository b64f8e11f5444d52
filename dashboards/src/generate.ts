// Rewrites grafana/*.json from the builders: `npm run -w @keel/dashboards generate`.
import { mkdir, writeFile } from 'node:fs/promises';
import { DASHBOARDS, GRAFANA_DIR, render } from './dashboards.js';

await mkdir(GRAFANA_DIR, { recursive: true });
for (const { file, build } of DASHBOARDS) {
  await writeFile(new URL(file, GRAFANA_DIR), render(build()));
  console.log(`wrote dashboards/grafana/${file}`);
}
