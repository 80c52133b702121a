/**
 * Minimal SVG charts for docs/benchmarks.md: bar groups with an optional target line, and a line
 * over time. Plain SVG text, so the charts diff and render on any Markdown viewer.
 */
const W = 640;
const H = 300;
const M = { top: 40, right: 20, bottom: 60, left: 60 };
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function frame(title: string, unit: string, max: number, body: string[], legend: string[]): string {
  const plotH = H - M.top - M.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = M.top + plotH * (1 - f);
    return `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${M.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${+(max * f).toPrecision(3)}</text>`;
  });
  const legendItems = legend.map(
    (name, i) => `<rect x="${M.left + i * 150}" y="${H - 18}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${M.left + i * 150 + 14}" y="${H - 9}" font-size="11">${esc(name)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="14" y="${M.top + plotH / 2}" font-size="11" transform="rotate(-90 14 ${M.top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`,
    ...ticks,
    ...body,
    ...legendItems,
    '</svg>',
  ].join('\n');
}

/** Groups of bars (one per series); `target` draws a dashed line at the target value. */
export function barChart(options: { title: string; unit: string; groups: string[]; series: Array<{ name: string; values: number[] }>; target?: { value: number; label: string } }): string {
  const values = options.series.flatMap((s) => s.values);
  const max = Math.max(...values, options.target?.value ?? 0) * 1.1 || 1;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const groupW = plotW / options.groups.length;
  const barW = (groupW * 0.7) / options.series.length;
  const body: string[] = [];
  options.groups.forEach((group, g) => {
    const x0 = M.left + g * groupW + groupW * 0.15;
    options.series.forEach((series, s) => {
      const v = series.values[g] ?? 0;
      const h = (v / max) * plotH;
      const x = x0 + s * barW;
      body.push(`<rect x="${x}" y="${M.top + plotH - h}" width="${barW - 2}" height="${h}" fill="${COLORS[s % COLORS.length]}"><title>${esc(`${series.name} ${group}: ${v}`)}</title></rect>`);
      body.push(`<text x="${x + (barW - 2) / 2}" y="${M.top + plotH - h - 3}" text-anchor="middle" font-size="10">${+v.toPrecision(3)}</text>`);
    });
    body.push(`<text x="${M.left + g * groupW + groupW / 2}" y="${M.top + plotH + 16}" text-anchor="middle" font-size="11">${esc(group)}</text>`);
  });
  if (options.target) {
    const y = M.top + plotH * (1 - options.target.value / max);
    body.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e45756" stroke-dasharray="6 4"/><text x="${W - M.right}" y="${y - 4}" text-anchor="end" font-size="11" fill="#e45756">${esc(options.target.label)}</text>`);
  }
  return frame(options.title, options.unit, max, body, options.series.map((s) => s.name));
}

/** One line over time, with an optional target line. */
export function lineChart(options: { title: string; unit: string; xUnit: string; points: Array<{ x: number; y: number }>; target?: { value: number; label: string } }): string {
  const maxX = Math.max(...options.points.map((p) => p.x), 1);
  const max = Math.max(...options.points.map((p) => p.y), options.target?.value ?? 0) * 1.1 || 1;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number) => M.left + (x / maxX) * plotW;
  const py = (y: number) => M.top + plotH * (1 - y / max);
  const body = [
    `<polyline fill="none" stroke="${COLORS[0]}" stroke-width="2" points="${options.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
    `<text x="${W - M.right}" y="${M.top + plotH + 16}" text-anchor="end" font-size="11">${esc(`${Math.round(maxX)} ${options.xUnit}`)}</text>`,
    `<text x="${M.left}" y="${M.top + plotH + 16}" font-size="11">0</text>`,
  ];
  if (options.target) {
    const y = py(options.target.value);
    body.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e45756" stroke-dasharray="6 4"/><text x="${W - M.right}" y="${y - 4}" text-anchor="end" font-size="11" fill="#e45756">${esc(options.target.label)}</text>`);
  }
  return frame(options.title, options.unit, max, body, [options.unit]);
}
