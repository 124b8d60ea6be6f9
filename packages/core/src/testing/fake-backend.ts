import type { Backend, InstanceOptions, ModelInstance } from '../backend.js';
import { ModelServeError } from '../errors.js';
import type { ModelSignature } from '../metadata.js';
import type { NamedTensor } from '../tensor.js';

/** What a fake model does with one request. */
export type FakeRun = (inputs: NamedTensor[], outputs: readonly string[]) => NamedTensor[] | Promise<NamedTensor[]>;

/** A fake model: its signature and behaviour, or a load failure. */
export interface FakeModel {
  signature: ModelSignature;
  run: FakeRun;
  /** When set, loading fails with this message. */
  loadError?: string;
  /** Milliseconds each load takes. */
  loadDelayMs?: number;
}

/**
 * A backend for tests where onnxruntime is not the point: models are looked up by file path and
 * behave as scripted. Records every run so tests can see what reached the backend.
 */
export class FakeBackend implements Backend {
  readonly name = 'fake';
  readonly runs: Array<{ label: string; inputs: NamedTensor[] }> = [];
  readonly created: string[] = [];
  readonly closed: string[] = [];
  /** Every instance created, in order, with a way to make it fail for good (as a worker that cannot restart). */
  readonly instances: Array<{ label: string; fail(reason: string): void }> = [];

  constructor(private readonly models: (modelFile: string) => FakeModel | undefined) {}

  async createInstance(options: InstanceOptions): Promise<ModelInstance> {
    const model = this.models(options.modelFile);
    if (model?.loadDelayMs !== undefined) await new Promise((r) => setTimeout(r, model.loadDelayMs));
    if (model === undefined) throw new ModelServeError('FailedPrecondition', `fake backend has no model for ${options.modelFile}`);
    if (model.loadError !== undefined) throw new ModelServeError('FailedPrecondition', model.loadError);
    this.created.push(options.label);
    let open = true;
    this.instances.push({
      label: options.label,
      fail: (reason) => {
        if (!open) return;
        open = false;
        options.onFailed?.(reason);
      },
    });
    return {
      signature: model.signature,
      run: async (inputs, outputs) => {
        if (!open) throw new ModelServeError('Unavailable', `${options.label} is closed`);
        this.runs.push({ label: options.label, inputs });
        return model.run(inputs, outputs);
      },
      close: async () => {
        open = false;
        this.closed.push(options.label);
      },
    };
  }
}

/** A promise with its resolve exposed, for holding a fake run until a test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
