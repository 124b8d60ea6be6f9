import type { Server } from '@grpc/grpc-js';
import type { ModelRegistry } from '@modelserve/core';
import { HealthImplementation } from 'grpc-health-check';

/** Service names that are healthy whenever the server runs. */
export const servedServices = ['modelserve.v1.Predictor', 'modelserve.v1.ModelAdmin', 'inference.GRPCInferenceService'] as const;

/**
 * `grpc.health.v1.Health`: the overall status under "", one status per API, and one per model
 * under the model's name (SERVING while a version can answer requests that name no version).
 */
export class ServerHealth {
  private readonly health = new HealthImplementation({ '': 'SERVING' });
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: ModelRegistry) {
    for (const service of servedServices) this.health.setStatus(service, 'SERVING');
    for (const model of registry.list()) this.update(model.name);
    this.unsubscribe = registry.onChange((model) => this.update(model));
  }

  addToServer(server: Server): void {
    this.health.addToServer(server);
  }

  /** Marks everything NOT_SERVING, e.g. while draining. */
  setNotServing(): void {
    this.unsubscribe();
    this.health.setStatus('', 'NOT_SERVING');
    for (const service of servedServices) this.health.setStatus(service, 'NOT_SERVING');
    for (const model of this.registry.list()) this.health.setStatus(model.name, 'NOT_SERVING');
  }

  private update(model: string): void {
    this.health.setStatus(model, this.registry.isReady(model) ? 'SERVING' : 'NOT_SERVING');
  }
}
