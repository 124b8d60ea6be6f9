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

/** Something in the repository laid out other than `<repo>/<model>/<version>/model.onnx`, which is therefore not served. */
export interface LayoutProblem {
  /** The file or folder, relative to the repository (`flat`, `m/v1`, `tiny.onnx`). */
  path: string;
  /** The folder, what was found there and the layout expected. */
  message: string;
  /** Set when the problem leaves a model folder with no version at all: that model is not served. */
  model?: string;
}

/** What a scan found: the models, and what it had to leave out and why. */
export interface RepositorySurvey {
  entries: ModelEntry[];
  problems: LayoutProblem[];
}

/** The layout every message points to. */
const expected = (model: string): string => `expected <repo>/${model}/<version>/model.onnx with a numeric version such as 1`;
const versionPattern = /^[1-9][0-9]{0,8}$/;
/** A folder name that looks meant as a version (`v1`, `01`, `0`, `1.0`, `version_2`), to be named as such. */
const versionLike = /^(?:v|version)?[-_]?[0-9]/i;
/** Folders a repository may hold that are not models (a filesystem's own): never reported. */
const notModels = new Set(['lost+found']);

/** A Triton-style repository: `<root>/<model>/<version>/model.onnx` plus optional `config.yaml`. */
export class ModelRepository {
  constructor(readonly root: string) {}

  /** Every model directory that holds at least one version, by name. */
  async scan(): Promise<ModelEntry[]> {
    return (await this.survey()).entries;
  }

  /**
   * Every model directory that holds at least one version, by name, and what is laid out wrongly:
   * a model file at the top, `model.onnx` directly in a model folder, a version folder that is not
   * a number or holds no `model.onnx`, a model folder with no version, a folder name that is not a
   * model name. Hidden entries (`.git`) are left alone.
   */
  async survey(): Promise<RepositorySurvey> {
    let children: Child[];
    try {
      children = await listChildren(this.root);
    } catch (error) {
      throw new ModelServeError('NotFound', `model repository ${this.root} cannot be read: ${(error as Error).message}`);
    }
    const entries: ModelEntry[] = [];
    const problems: LayoutProblem[] = [];
    for (const child of children) {
      if (child.name.startsWith('.') || notModels.has(child.name)) continue;
      if (!child.directory) {
        const stem = child.name.replace(/\.onnx$/i, '');
        if (stem !== child.name) {
          const model = modelNamePattern.test(stem) ? stem : 'my_model';
          problems.push({ path: child.name, message: `${JSON.stringify(child.name)} is a model file at the repository's top; expected <repo>/<model>/<version>/model.onnx, e.g. <repo>/${model}/1/model.onnx` });
        } else if (child.name === 'config.yaml') {
          problems.push({ path: child.name, message: `config.yaml is at the repository's top; expected <repo>/<model>/config.yaml beside the model's version folders` });
        }
        continue;
      }
      if (!modelNamePattern.test(child.name)) {
        problems.push({
          path: child.name,
          message: `folder ${JSON.stringify(child.name)} is not a valid model name (1-128 letters, digits, '_', '-' or '.', not starting with '.'): its models are not served`,
        });
        continue;
      }
      const { entry, problems: found } = await this.inspect(child.name);
      problems.push(...found);
      if (entry.versions.length > 0) entries.push(entry);
    }
    return { entries, problems };
  }

  /** One model's directory; `NotFound` if it does not exist. */
  async entry(name: string): Promise<ModelEntry> {
    return (await this.inspect(name)).entry;
  }

  /** One model's directory and what in it is laid out wrongly; `NotFound` if it does not exist. */
  private async inspect(name: string): Promise<{ entry: ModelEntry; problems: LayoutProblem[] }> {
    checkModelName(name);
    const dir = path.join(this.root, name);
    let children: Child[];
    try {
      children = await listChildren(dir);
    } catch {
      throw new ModelServeError('NotFound', `model '${name}' is not in the repository ${this.root}`);
    }
    const versions: number[] = [];
    const problems: LayoutProblem[] = [];
    const looseModels = children.filter((c) => !c.directory && /\.onnx$/i.test(c.name)).map((c) => c.name);
    if (looseModels.length > 0) {
      problems.push({ path: name, message: `model folder ${JSON.stringify(name)} has ${looseModels.join(', ')} directly inside; ${expected(name)}` });
    }
    for (const child of children) {
      if (!child.directory || child.name.startsWith('.')) continue;
      const versionDir = path.join(dir, child.name);
      if (versionPattern.test(child.name)) {
        if (await isFile(path.join(versionDir, 'model.onnx'))) {
          versions.push(Number(child.name));
          continue;
        }
        const inside = await listChildren(versionDir).catch(() => []);
        problems.push({ path: `${name}/${child.name}`, message: `version folder "${name}/${child.name}" has no model.onnx (${found(inside)}); expected <repo>/${name}/${child.name}/model.onnx` });
        continue;
      }
      const inside = await listChildren(versionDir).catch(() => []);
      const holdsModel = inside.some((c) => !c.directory && /\.onnx$/i.test(c.name));
      if (!holdsModel && !versionLike.test(child.name)) continue; // a folder of its own (notes, assets): not meant as a version
      const digits = /([1-9][0-9]{0,8})$/.exec(child.name)?.[1];
      const rename = digits === undefined ? '' : ` (rename it to ${digits})`;
      problems.push({
        path: `${name}/${child.name}`,
        message: `model folder ${JSON.stringify(name)} has a version folder ${JSON.stringify(child.name)} that is not a number${rename}; ${expected(name)}`,
      });
    }
    versions.sort((a, b) => a - b);
    if (versions.length === 0) {
      if (problems.length === 0) problems.push({ path: name, message: `model folder ${JSON.stringify(name)} has no version folder (${found(children)}); ${expected(name)}` });
      for (const problem of problems) problem.model = name;
    }
    return { entry: { name, dir, configFile: path.join(dir, 'config.yaml'), versions }, problems };
  }

  /** The model file of one version. */
  modelFile(name: string, version: number): string {
    checkModelName(name);
    return path.join(this.root, name, String(version), 'model.onnx');
  }
}

/** A directory entry, symbolic links followed. */
interface Child {
  name: string;
  directory: boolean;
}

/** A directory's entries by name, a symbolic link counted as what it points to. */
async function listChildren(dir: string): Promise<Child[]> {
  const dirents = await readdir(dir, { withFileTypes: true });
  const children = await Promise.all(
    dirents.map(async (d) => ({
      name: d.name,
      directory: d.isDirectory() || (d.isSymbolicLink() && (await stat(path.join(dir, d.name)).then((s) => s.isDirectory(), () => false))),
    })),
  );
  return children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a folder holds, for messages: `found: a.onnx, notes/` or `it is empty`. */
function found(children: readonly Child[]): string {
  const shown = children.filter((c) => !c.name.startsWith('.')).map((c) => (c.directory ? `${c.name}/` : c.name));
  if (shown.length === 0) return 'it is empty';
  return `found: ${shown.slice(0, 5).join(', ')}${shown.length > 5 ? `, and ${shown.length - 5} more` : ''}`;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
