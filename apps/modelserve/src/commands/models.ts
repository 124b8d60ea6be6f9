import type { EffectiveRouting__Output, ListModelsResponse__Output } from '@modelserve/proto';
import { call, connect } from '../client.js';

/** A share for people: `90%`, `33.3%`. */
export function percent(value: number): string {
  return `${Number(value.toFixed(1))}%`;
}

/**
 * One version's part in the traffic of requests that name no version, as it happens now: its
 * share (`90%`), `shadow` when it gets copies, both, or nothing.
 */
export function trafficOf(version: string, routing: EffectiveRouting__Output | null): string {
  const share = routing?.shares.find((s) => s.version === version);
  const parts = [...(share === undefined ? [] : [percent(share.percent)]), ...(routing?.shadow_version === version ? ['shadow'] : [])];
  return parts.join(', ');
}

/** A version state without the enum's prefix, as the table shows it: `READY`. */
const stateName = (state: string): string => state.replace(/^VERSION_STATE_/, '');

/**
 * Prints every model with its versions, states and share of the traffic that names no version
 * (as it happens now: a split version that is not ready gets none), then a note for each part of
 * a routing that does not happen as set. `--json` gives the same with the same state names.
 */
export async function models(options: { address: string; json: boolean }): Promise<void> {
  const client = connect(options.address);
  try {
    const response = await call<ListModelsResponse__Output>((cb) => client.admin.ListModels({}, cb));
    if (options.json) {
      const models = response.models.map((m) => ({
        name: m.name,
        default_version: m.default_version,
        versions: m.versions.map((v) => ({ version: v.version, state: stateName(v.state), reason: v.reason })),
        routing: m.routing,
      }));
      console.log(JSON.stringify(models, null, 2));
      return;
    }
    const rows = [['MODEL', 'VERSION', 'STATE', 'TRAFFIC', 'REASON']];
    const notes: string[] = [];
    for (const model of response.models) {
      for (const v of model.versions) rows.push([model.name, v.version, stateName(v.state), trafficOf(v.version, model.routing), v.reason]);
      for (const note of model.routing?.notes ?? []) notes.push(`${model.name}: ${note}`);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
    if (notes.length > 0) console.log(['', ...notes].join('\n'));
  } finally {
    client.close();
  }
}
