export type { Closable, Drainable, HttpServerLike } from './drainable.js';
export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
  type ShutdownResult,
} from './graceful-shutdown.js';
export {
  type CircuitSource,
  createReadiness,
  type Readiness,
  type ReadinessCheck,
  type ReadinessDependency,
  type ReadinessOptions,
  type ReadinessPhase,
  type ReadinessReport,
} from './readiness.js';
