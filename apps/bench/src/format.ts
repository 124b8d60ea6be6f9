/** How numbers look in the terminal report. */

/** A rate with thousands separators, e.g. "12,345"; "n/a" when unknown. */
export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with 3 significant digits, e.g. "0.412 ms", "12.3 ms". */
export function formatLatency(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  return `${ms >= 100 ? Math.round(ms) : ms.toPrecision(3)} ms`;
}

/** A ratio, e.g. "1.52×". */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return 'n/a';
  return `${ratio < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}×`;
}

/** Bytes in MiB, e.g. "143.2 MiB". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return 'n/a';
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Pads each column of `rows` to its widest cell; numeric-looking cells are right-aligned. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const numeric = /^[-+]?[\d,.]+( ?(ms|×|MiB|%))?$|^n\/a$/;
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
        return numeric.test(cell) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}
