import { invalidOption } from '@keel/resilience/adapter';

// Queue and exchange names the broker accepts, well inside AMQP's 255-byte short string.
const NAME = /^[A-Za-z0-9_.:\-/]{0,200}$/;

/** A queue or exchange name; the empty name (the default exchange) only where `allowEmpty`. */
export function checkName(owner: string, option: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string' || !NAME.test(value) || (!allowEmpty && value === '')) {
    invalidOption(
      owner,
      option,
      `${allowEmpty ? 'a' : 'a non-empty'} string of at most 200 [A-Za-z0-9_.:-/]`,
      value,
    );
  }
  return value;
}
