import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  type Panel,
  RowBuilder,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';

/** A titled group of panels, drawn under a row header. */
export interface Section {
  readonly title: string;
  readonly panels: readonly Builder<Panel>[];
}

/** What every Keel dashboard is made of. */
export interface KeelDashboardOptions {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly variables: readonly Builder<VariableModel>[];
  readonly sections: readonly Section[];
}

/** The tag the dashboards share; their links list every dashboard carrying it. */
export const TAG = 'keel';

/**
 * Builds a dashboard: the variables, then each section as a row and its panels, numbered in order so
 * the ids are stable across regenerations.
 */
export function keelDashboard(options: KeelDashboardOptions): Dashboard {
  const builder = new DashboardBuilder(options.title)
    .uid(options.uid)
    .description(options.description)
    .tags([TAG])
    .editable()
    .time({ from: 'now-15m', to: 'now' })
    .refresh('10s')
    .link(
      new DashboardLinkBuilder('Keel dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(false)
        .includeVars(true)
        .keepTime(true),
    );
  for (const variable of options.variables) builder.withVariable(variable);
  for (const section of options.sections) {
    builder.withRow(new RowBuilder(section.title));
    for (const panel of section.panels) builder.withPanel(panel);
  }
  const dashboard = builder.build();
  // The builder files links under the controls menu; left out, Grafana shows them beside the variables.
  for (const link of dashboard.links ?? []) delete link.placement;
  for (const [index, panel] of (dashboard.panels ?? []).entries()) panel.id = index + 1;
  return dashboard;
}
