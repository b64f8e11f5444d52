import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from './cli.js';

describe('the demo command line', () => {
  it('runs a minute at 30 requests a second by default', () => {
    expect(parseOptions([])).toEqual({
      durationS: 60,
      follow: false,
      rate: 30,
      metricsPortBase: undefined,
      metricsHost: '127.0.0.1',
      targetsFile: undefined,
      summaryJson: undefined,
      help: false,
    });
  });

  it('takes an IP address for the /metrics listeners', () => {
    expect(parseOptions(['--metrics-host', '0.0.0.0']).metricsHost).toBe('0.0.0.0');
    expect(parseOptions(['--metrics-host', '::']).metricsHost).toBe('::');
  });

  it.each([
    [['--duration', '5'], '--duration must be an integer from 8 to 86400, received "5"'],
    [['--rate', '2.5'], '--rate must be an integer from 1 to 1000, received "2.5"'],
    [
      ['--metrics-port-base', '65535'],
      '--metrics-port-base must be an integer from 1024 to 65531, received "65535"',
    ],
    [['--targets-file', ''], '--targets-file needs a value'],
    [
      ['--metrics-host', 'localhost'],
      '--metrics-host must be an IP address such as 127.0.0.1 or 0.0.0.0, received "localhost"',
    ],
    [['--colour'], "Unknown option '--colour'"],
  ])('refuses %j naming the flag and the value', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(message);
  });
});
