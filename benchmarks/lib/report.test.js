import { describe, expect, it } from 'vitest';
import { renderReport, renderTable } from './report.js';

const meta = {
  date: '2026-12-02T00:00:00.000Z',
  node: '22.23.3',
  v8: '12.4',
  cpu: 'CPU',
  cores: 2,
  platform: 'linux x64',
  execArgv: [],
  command: 'node x.js --quick',
  keelSource: 'abc1234',
  versions: { cockatiel: '4.0.0' },
  loadStart: 1,
  loadEnd: 2,
  durationS: 3,
};

describe('the report renderer', () => {
  it('renders a table with its alignment and escapes pipes in cells', () => {
    expect(renderTable({ head: ['a', 'b'], align: 'lr', rows: [['x | y', 2]] })).toEqual([
      '| a | b |',
      '| --- | ---: |',
      '| x \\| y | 2 |',
    ]);
  });

  it('renders the run line, sections and targets of a report', () => {
    const text = renderReport({
      id: 'x',
      title: 'X',
      measures: 'What X measures.',
      meta,
      sections: [{ heading: 'Part', text: 'How.', table: { head: ['c'], align: 'l', rows: [['v']] } }],
      targets: [{ target: 'fast', measured: '2×', met: false }],
    });
    expect(text).toContain('`node x.js --quick` · 3 s · 1-minute load average 1.00 → 2.00');
    expect(text).toContain('**Part**\n\nHow.\n\n| c |');
    expect(text).toContain('| fast | 2× | **no** |');
  });

  it('renders a skipped report with its reason and no table', () => {
    const text = renderReport({ id: 'x', title: 'X', measures: 'm', skipped: 'RabbitMQ is unreachable' });
    expect(text).toBe('## X\n\nm\n\n**Skipped:** RabbitMQ is unreachable');
  });
});
