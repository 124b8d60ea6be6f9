import { describe, expect, it } from 'vitest';
import { soakLines, soakSummary } from './soak.js';

const window = (index: number, p99Ms: number, rssBytes: number | undefined, errors = 0) => ({ index, requestsPerSecond: 1000, p50Ms: 1, p99Ms, errors, rssBytes });

describe('soak summary', () => {
  it('compares the last window with the first and adds up the errors', () => {
    expect(soakSummary([window(1, 10, 100), window(2, 12, 110, 3), window(3, 15, 120, 1)])).toEqual({ p99Drift: 1.5, rssGrowth: 1.2, errors: 4 });
  });

  it('leaves ratios undefined when RSS is not known', () => {
    expect(soakSummary([window(1, 10, undefined), window(2, 10, undefined)])).toMatchObject({ p99Drift: 1, rssGrowth: undefined });
  });

  it('prints one row per window and the summary', () => {
    const windows = [window(1, 10, 100 * 2 ** 20), window(2, 11, 101 * 2 ** 20)];
    const lines = soakLines({ capacity: 2000, rate: 1400, windowSeconds: 30, windows, ...soakSummary(windows) });
    expect(lines[0]).toContain('70% of the 2,000 req/s');
    expect(lines).toHaveLength(2 + 2 + 1);
    expect(lines.at(-1)).toBe('p99 last/first window ×1.10, RSS last/first ×1.01, errors 0');
  });
});
