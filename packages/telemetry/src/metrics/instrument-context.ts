import type { Registry, RegistryContentType } from 'prom-client';

/** What every instrument factory needs from the metrics handle that owns it. */
export interface InstrumentContext {
  readonly registry: Registry<RegistryContentType>;
  /** Distinct label sets per metric before recordings fall into the overflow series. */
  readonly seriesLimit: number;
  /** Returns the callback that counts one diverted recording of `metric`. */
  overflowCounterFor(metric: string): () => void;
}

/** Definition of one instrument: its name, help text and the label names it accepts. */
export interface InstrumentDefinition<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}
