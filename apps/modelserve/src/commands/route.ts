import type { EffectiveRouting__Output, ListModelsResponse__Output, Routing__Output, RoutingResponse__Output } from '@modelserve/proto';
import { Metadata } from '@grpc/grpc-js';
import { call, connect } from '../client.js';
import { percent } from './models.js';

/** The admin bearer token as call metadata: --token, else $MODELSERVE_ADMIN_TOKEN. */
function adminMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  const value = token ?? process.env['MODELSERVE_ADMIN_TOKEN'];
  if (value !== undefined && value !== '') metadata.set('authorization', `Bearer ${value}`);
  return metadata;
}

/** Options of `modelserve route`. */
export interface RouteOptions {
  address: string;
  /** `1=90,2=10`; `none` clears the split. */
  split?: string;
  /** A version, or `none` for the highest ready version. */
  default?: string;
  /** A version, or `none`. */
  shadow?: string;
  token?: string;
}

/** `1=90,2=10` as a split; throws with the expected form otherwise. */
export function parseSplit(text: string): Array<{ version: string; weight: number }> {
  if (text === 'none' || text === '') return [];
  return text.split(',').map((part) => {
    const match = /^\s*([1-9][0-9]*)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*$/.exec(part);
    if (match === null) throw new Error(`--split: '${part}' is not VERSION=WEIGHT (e.g. --split 1=90,2=10)`);
    return { version: match[1]!, weight: Number(match[2]) };
  });
}

/**
 * The routing as set, on one line; then what it does with the versions ready now (`in effect:
 * 2=100%`), and a note for each part that does not happen as set (a split version that left).
 */
export function describeRouting(model: string, routing: Routing__Output | null, history: number, effective: EffectiveRouting__Output | null): string {
  const split = routing?.split.map((s) => `${s.version}=${s.weight}`).join(',') || 'none';
  const set = `${model}: default ${routing?.default_version || 'highest ready'}, split ${split}, shadow ${routing?.shadow_version || 'none'} (rollback history ${history})`;
  const shares = effective?.shares.map((s) => `${s.version}=${percent(s.percent)}`).join(' ') || 'no version answers (UNAVAILABLE)';
  const shadow = effective?.shadow_version ? `, shadow ${effective.shadow_version}` : '';
  return [set, `  in effect: ${shares}${shadow}`, ...(effective?.notes ?? []).map((note) => `  note: ${note}`)].join('\n');
}

/** Shows or changes a model's routing; the change is one atomic step that `rollback` undoes. */
export async function route(model: string, options: RouteOptions): Promise<void> {
  const client = connect(options.address);
  try {
    const current = await call<RoutingResponse__Output>((cb) => client.admin.GetRouting({ name: model }, cb));
    if (options.split === undefined && options.default === undefined && options.shadow === undefined) {
      console.log(describeRouting(model, current.routing, current.history, current.effective));
      return;
    }
    const routing = {
      default_version: options.default === undefined ? (current.routing?.default_version ?? '') : options.default === 'none' ? '' : options.default,
      split: options.split === undefined ? (current.routing?.split ?? []) : parseSplit(options.split),
      shadow_version: options.shadow === undefined ? (current.routing?.shadow_version ?? '') : options.shadow === 'none' ? '' : options.shadow,
    };
    const set = await call<RoutingResponse__Output>((cb) => client.admin.SetRouting({ name: model, routing }, adminMetadata(options.token), cb));
    console.log(describeRouting(model, set.routing, set.history, set.effective));
  } finally {
    client.close();
  }
}

/** Restores the routing in force before the last change. */
export async function rollback(model: string, options: { address: string; token?: string }): Promise<void> {
  const client = connect(options.address);
  try {
    const response = await call<RoutingResponse__Output>((cb) => client.admin.RollbackRouting({ name: model }, adminMetadata(options.token), cb));
    console.log(describeRouting(model, response.routing, response.history, response.effective));
  } finally {
    client.close();
  }
}

/** Re-reads the model repository on the server and prints the models' states. */
export async function reload(options: { address: string; token?: string }): Promise<void> {
  const client = connect(options.address);
  try {
    const response = await call<ListModelsResponse__Output>((cb) => client.admin.ReloadRepository({}, adminMetadata(options.token), cb));
    for (const m of response.models) console.log(`${m.name}: ${m.versions.map((v) => `${v.version} ${v.state.replace('VERSION_STATE_', '')}`).join(', ') || 'no versions'}`);
  } finally {
    client.close();
  }
}
