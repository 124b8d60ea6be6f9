/** Picks the load driver: h2load when it is installed and can do what is asked, else the Node load workers. */
import { findH2load, h2loadVersion } from './h2load.js';
import type { BenchOptions } from './options.js';
import type { DriverInfo } from './types.js';

/** The driver for `options`; throws when h2load is asked for and cannot be used. */
export function chooseDriver(options: Pick<BenchOptions, 'driver' | 'rates'>, find: () => string | undefined = findH2load): DriverInfo {
  if (options.driver === 'node') return { name: 'node', note: '--driver node' };
  const openLoop = options.rates.length > 0;
  if (openLoop) {
    // h2load's -r/--rate-period pace new connections, not requests, and --rps is per connection
    // and capped by its stream slots (requests are timed from when they are sent, not when due).
    const why = 'h2load has no open loop at a request rate (-r paces connections; --rps is capped by in-flight streams and hides queueing), so --rate uses the Node load workers';
    if (options.driver === 'h2load') throw new Error(`--driver h2load: ${why}`);
    return { name: 'node', note: why };
  }
  const binary = find();
  if (binary === undefined) {
    if (options.driver === 'h2load') throw new Error('--driver h2load: h2load not found (/usr/bin/h2load or PATH); apt-get install nghttp2-client');
    return { name: 'node', note: 'h2load not found (apt-get install nghttp2-client), Node load workers' };
  }
  const version = h2loadVersion(binary);
  const info: DriverInfo = { name: 'h2load', binary, note: options.driver === 'h2load' ? '--driver h2load' : 'default: h2load is installed' };
  if (version !== undefined) info.version = version;
  return info;
}

/** One line for the report header. */
export function driverLine(driver: DriverInfo): string {
  if (driver.name === 'node') return `Load driver: node (load worker processes); ${driver.note}.`;
  return `Load driver: h2load ${driver.version ?? ''} (${driver.binary ?? 'h2load'}, 1 thread, ≤ 4 connections); ${driver.note}.`.replace('  ', ' ');
}
