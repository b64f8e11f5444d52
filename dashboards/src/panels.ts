import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  type DataSourceRef,
  MappingType,
  type Panel,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every query goes to the Prometheus the `datasource` variable picks. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** One query of a panel. */
export interface Query {
  readonly expr: string;
  readonly legend: string;
  /** Ask for the histogram's trace exemplars, drawn as points that open the trace. @default false */
  readonly exemplar?: boolean;
}

/** A time-series panel. */
export interface TimeseriesOptions {
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id: `reqps`, `percentunit`, `s`, `ops`, `short`… */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Grid columns of 24. @default 8 */
  readonly span?: number;
}

const HEIGHT = 8;

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((query, i) =>
    new DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .datasource(PROMETHEUS)
      .expr(query.expr)
      .legendFormat(query.legend)
      .range()
      .exemplar(query.exemplar === true),
  );
}

function legend(): VizLegendOptionsBuilder {
  return new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom);
}

function tooltip(): VizTooltipOptionsBuilder {
  return new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);
}

/** A time-series panel over `queries`. */
export function timeseries(options: TimeseriesOptions): Builder<Panel> {
  const panel = new TimeseriesBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS)
    .unit(options.unit)
    .min(0)
    .span(options.span ?? 8)
    .height(HEIGHT)
    .legend(legend())
    .tooltip(tooltip())
    .fillOpacity(10)
    .showPoints(VisibilityMode.Never);
  for (const target of targets(options.queries)) panel.withTarget(target);
  return panel;
}

/** A state in a state-timeline panel: the value a query yields for it, its name and colour. */
export interface TimelineState {
  readonly value: number;
  readonly text: string;
  readonly color: string;
}

/** A full-width state-timeline panel: one lane per series, coloured by `states`. */
export function stateTimeline(options: {
  readonly title: string;
  readonly description: string;
  readonly query: Query;
  readonly states: readonly TimelineState[];
}): Builder<Panel> {
  const mapping: ValueMapping = {
    type: MappingType.ValueToText,
    options: Object.fromEntries(
      options.states.map((state, index) => [
        String(state.value),
        { text: state.text, color: state.color, index },
      ]),
    ),
  };
  const panel = new StateTimelineBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS)
    .span(24)
    .height(HEIGHT)
    .mappings([mapping])
    .legend(legend())
    .tooltip(tooltip())
    .mergeValues(true)
    .showValue(VisibilityMode.Never);
  for (const target of targets([options.query])) panel.withTarget(target);
  return panel;
}
