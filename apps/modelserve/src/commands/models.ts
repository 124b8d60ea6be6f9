import type { ListModelsResponse__Output } from '@modelserve/proto';
import { call, connect } from '../client.js';

/** Prints every model with its versions and states. */
export async function models(options: { address: string; json: boolean }): Promise<void> {
  const client = connect(options.address);
  try {
    const response = await call<ListModelsResponse__Output>((cb) => client.admin.ListModels({}, cb));
    if (options.json) {
      console.log(JSON.stringify(response.models, null, 2));
      return;
    }
    const rows = [['MODEL', 'VERSION', 'STATE', 'DEFAULT', 'REASON']];
    for (const model of response.models) {
      for (const v of model.versions) {
        rows.push([model.name, v.version, v.state.replace('VERSION_STATE_', ''), v.version === model.default_version ? '*' : '', v.reason]);
      }
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  } finally {
    client.close();
  }
}
