import type { Measurement } from './scenarios.js';

export interface Row {
  config: string;
  scenario: string;
  measurement: Measurement | null;
  /** RSS of the server process: before the scenario, peak during it, and (where measured) after. */
  rss: { rest: number; peak: number; after?: number; series?: number[] } | null;
  note?: string;
  /** Docket ÷ floor req/s, where the floor ran the scenario interleaved with it. */
  ratio?: number;
}

export type Verdict = 'pass' | 'miss' | 'n/a';

export interface Target {
  config: string;
  target: string;
  measured: string;
  verdict: Verdict;
}

const MB = 1024 * 1024;
export const mb = (bytes: number) => (bytes / MB).toFixed(0);
const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';

function table(head: string[], rows: string[][], right: boolean[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (right[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatErrors(m: Measurement): string {
  const bad = m.non2xx + m.errors + m.timeouts;
  if (bad === 0) return '0';
  const codes = Object.entries(m.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count}×${code}`);
  if (m.errors) codes.push(`${m.errors} conn`);
  if (m.timeouts) codes.push(`${m.timeouts} timeout`);
  return `${bad} (${codes.join(', ')})`;
}

export function printResults(rows: Row[]): string {
  const body = rows.map((row) => {
    const m = row.measurement;
    const ratio = m && row.ratio !== undefined && !m.failed ? `${fixed(row.ratio, 2)}×` : '';
    return [
      row.config,
      row.scenario,
      m ? (m.failed ? 'ERRORS' : fixed(m.rps, 0)) : '-',
      m ? fixed(m.p50, 1) : '-',
      m ? fixed(m.p99, 1) : '-',
      m ? formatErrors(m) : '-',
      m?.cpuMsPerRequest === undefined ? '-' : fixed(m.cpuMsPerRequest, 2),
      m?.dbCpuMsPerRequest === undefined ? '-' : fixed(m.dbCpuMsPerRequest, 2),
      row.rss ? mb(row.rss.peak) : '-',
      row.rss ? mb(row.rss.rest) : '-',
      ratio,
      row.note ?? '',
    ];
  });
  return table(
    [
      'config',
      'scenario',
      '2xx req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'cpu ms/req',
      'db ms/req',
      'peak MB',
      'rest MB',
      'vs floor',
      'note',
    ],
    body,
    [false, false, true, true, true, false, true, true, true, true, true, false],
  );
}

export function printTargets(targets: Target[]): string {
  return table(
    ['config', 'target', 'measured', 'verdict'],
    targets.map((t) => [t.config, t.target, t.measured, t.verdict.toUpperCase()]),
    [false, false, false, false],
  );
}

export function verdict(ok: boolean | null): Verdict {
  return ok === null ? 'n/a' : ok ? 'pass' : 'miss';
}
