/** The run's files: `<out>/<timestamp>.json` (everything measured) and `<out>/<timestamp>.svg` (the chart). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderSvg } from './report-svg.js';
import type { TargetResult } from './targets.js';
import type { BenchResults } from './types.js';

/** A file-name-safe timestamp, e.g. 2025-11-24T03-12-05Z. */
export function fileTimestamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Writes the JSON file and, when there are points to draw, the SVG chart; returns the paths written. */
export async function writeReportFiles(results: BenchResults, targets: readonly TargetResult[], outDir: string): Promise<string[]> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const base = join(dir, fileTimestamp(results.startedAt));
  const json = `${base}.json`;
  const svg = `${base}.svg`;
  await writeFile(json, `${JSON.stringify({ ...results, targets }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`);
  if (results.points.length === 0) return [json];
  await writeFile(svg, renderSvg(results));
  return [json, svg];
}
