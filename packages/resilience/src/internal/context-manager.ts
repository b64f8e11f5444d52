import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

const probeKey = createContextKey('keel.context-probe');
let ensured = false;

/**
 * Makes sure an OpenTelemetry context manager is registered, so deadlines and trace context flow across
 * `await` even when the application never starts an OpenTelemetry SDK. Registers the API's
 * AsyncLocalStorage manager only when none is active; never replaces one that is.
 */
export function ensureContextManager(): void {
  if (ensured) return;
  ensured = true;
  const probe = ROOT_CONTEXT.setValue(probeKey, true);
  if (context.with(probe, () => context.active().getValue(probeKey) === true)) return;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager)) manager.disable();
}
