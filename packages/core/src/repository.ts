import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelServeError } from './errors.js';

/** Model names: letters, digits, `_`, `-` and `.`, not starting with `.`, at most 128 characters. */
const modelNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/** Throws `InvalidArgument` for a model name that could escape the repository or is not a name. */
export function checkModelName(name: string): void {
  if (!modelNamePattern.test(name)) {
    const shown = name.length > 64 ? `${JSON.stringify(name.slice(0, 64))}…` : JSON.stringify(name);
    throw new ModelServeError(
      'InvalidArgument',
      `model name ${shown} is not valid: expected 1-128 letters, digits, '_', '-' or '.', not starting with '.'`,
    );
  }
}

/** Parses a version as sent by a client: a positive decimal integer, or empty for the default. */
export function parseVersion(model: string, version: string | number | undefined): number | undefined {
  if (version === undefined || version === '') return undefined;
  const n = typeof version === 'number' ? version : /^[0-9]{1,9}$/.test(version) ? Number(version) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ModelServeError(
      'InvalidArgument',
      `model '${model}': version ${JSON.stringify(String(version))} is not valid: expected a positive integer or empty for the default version`,
    );
  }
  return n;
}

/** One model directory as found on disk. */
export interface ModelEntry {
  name: string;
  dir: string;
  configFile: string;
  /** Versions with a `model.onnx`, ascending. */
  versions: number[];
}

/** A Triton-style repository: `<root>/<model>/<version>/model.onnx` plus optional `config.yaml`. */
export class ModelRepository {
  constructor(readonly root: string) {}

  /** Every model directory that holds at least one version, by name. */
  async scan(): Promise<ModelEntry[]> {
    let names: string[];
    try {
      names = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (error) {
      throw new ModelServeError('NotFound', `model repository ${this.root} cannot be read: ${(error as Error).message}`);
    }
    const entries: ModelEntry[] = [];
    for (const name of names.sort()) {
      if (!modelNamePattern.test(name)) continue;
      const entry = await this.entry(name);
      if (entry.versions.length > 0) entries.push(entry);
    }
    return entries;
  }

  /** One model's directory; `NotFound` if it does not exist. */
  async entry(name: string): Promise<ModelEntry> {
    checkModelName(name);
    const dir = path.join(this.root, name);
    let children: string[];
    try {
      children = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      throw new ModelServeError('NotFound', `model '${name}' is not in the repository ${this.root}`);
    }
    const versions: number[] = [];
    for (const child of children) {
      if (!/^[1-9][0-9]{0,8}$/.test(child)) continue;
      if (await isFile(path.join(dir, child, 'model.onnx'))) versions.push(Number(child));
    }
    versions.sort((a, b) => a - b);
    return { name, dir, configFile: path.join(dir, 'config.yaml'), versions };
  }

  /** The model file of one version. */
  modelFile(name: string, version: number): string {
    checkModelName(name);
    return path.join(this.root, name, String(version), 'model.onnx');
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
