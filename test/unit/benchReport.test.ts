import { finish, Results } from '../../bench/lib/report';
import { mapLimit, median, percentile } from '../../bench/lib/stats';
import { barChart, lineChart } from '../../bench/lib/svgChart';

describe('benchmark statistics', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose

  it('takes nearest-rank percentiles', () => {
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([], 50)).toThrow(/empty/);
  });

  it('takes the median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([90.9, 68.3])).toBeCloseTo(79.6);
    expect(() => median([])).toThrow(/empty/);
  });

  it('keeps at most the given number of tasks in flight and results in order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([5, 4, 3, 2, 1, 0], 2, async (n) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return n * 2;
    });
    expect(most).toBe(2);
    expect(results).toEqual([10, 8, 6, 4, 2, 0]);
  });
});

describe('benchmark report', () => {
  const section = (summary: Record<string, number>) => ({ measured_at: 'now', commit: 'c', duration_s: 1, summary, detail: {} });
  const results = (): Results => ({
    commit: 'c',
    worktree_dirty: false,
    generated_at: 'now',
    mode: 'full',
    machine: {},
    keys: {},
    targets: {},
    met: {},
    sections: { f3: section({ f3_detail_vs_express: 0.3, f3_detail_p99_ms: 26 }), f1: section({ f1_overhead_ratio: 2.5, f1_p50_ms: 40 }) },
    skipped: {},
  });

  it('judges each key against its target, both ways, and only keys that were measured', () => {
    const done = finish(results());
    expect(done.met).toEqual({ f1_overhead_ratio: true, f3_detail_p99_ms: false, f3_detail_vs_express: true });
    expect(done.targets.f5_real_ray_ratio).toBe('<= 1.2');
    expect(Object.keys(done.keys)).toEqual(['f1_overhead_ratio', 'f1_p50_ms', 'f3_detail_vs_express', 'f3_detail_p99_ms']);
  });

  it('draws one bar per value and the target line', () => {
    const svg = barChart({ title: 'a < b', unit: 'ms', groups: ['x', 'y'], series: [{ name: 's', values: [1, 2] }, { name: 't', values: [3, 4] }], target: { value: 5, label: 'target' } });
    expect(svg.match(/<rect x=/g)).toHaveLength(4 + 2); // 4 bars, 2 legend swatches
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('a &lt; b');
    expect(lineChart({ title: 't', unit: 'MiB', xUnit: 's', points: [{ x: 0, y: 1 }, { x: 2, y: 3 }] })).toContain('<polyline');
  });
});
