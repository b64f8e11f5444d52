// A readiness model of the shape @keel/telemetry's createReadiness has: a phase, and circuits of which only
// the required ones make the service unready.
import type { Pipeline } from '@keel/resilience';
import type { HealthReadiness } from '../health.js';

export interface TestReadiness extends HealthReadiness {
  markStopping(): void;
}

export function testReadiness(
  dependencies: readonly { pipeline: Pick<Pipeline, 'circuitState'>; required: boolean }[],
): TestReadiness {
  let phase = 'serving';
  const listeners = new Set<(phase: string) => void>();
  return {
    async check() {
      const down = dependencies.some(
        (d) => d.required && (d.pipeline.circuitState === 'open' || d.pipeline.circuitState === 'isolated'),
      );
      return { status: phase === 'serving' && !down ? 'ready' : 'not ready' };
    },
    onPhase(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    markStopping() {
      phase = 'stopping';
      for (const l of listeners) l(phase);
    },
  };
}
