import {
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PROMETHEUS } from './panels.js';

/** `$datasource`: any Prometheus; Grafana starts on the default one, which the provisioning sets. */
export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A multi-select label variable with "All", filled from `label_values(selector, label)`. */
export function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: ['All'], value: ['$__all'], selected: true });
}

/**
 * `$service`: the `service` label the scrape config puts on each target (Keel's own series carry none),
 * read from `up` so a service shows before it has served anything.
 */
export function serviceVariable(): QueryVariableBuilder {
  return labelVariable('service', 'Service', 'label_values(up, service)');
}

/** `$pipeline`: the resilience pipelines of the chosen services that have made a decision. */
export function pipelineVariable(): QueryVariableBuilder {
  return labelVariable(
    'pipeline',
    'Pipeline',
    'label_values(resilience_events_total{service=~"$service"}, pipeline)',
  );
}
