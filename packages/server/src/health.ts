import type { Server } from '@grpc/grpc-js';
import type { ModelRegistry } from '@modelserve/core';
import { HealthImplementation } from 'grpc-health-check';
import type { ServiceRegistrar } from './ingress.js';

/**
 * SERVING from start to exit, whatever the serving status (loading, out of rotation, draining):
 * for liveness probes (Kubernetes `grpc: { service: modelserve.v1.Liveness }`), which must not
 * restart a replica taken out of rotation on purpose.
 */
export const livenessService = 'modelserve.v1.Liveness';

/** Service names that are healthy whenever the server is in rotation. */
export const servedServices = ['modelserve.v1.Predictor', 'modelserve.v1.ModelAdmin', 'inference.GRPCInferenceService'] as const;

/**
 * `grpc.health.v1.Health`: the overall status under "", one status per API, one per model under
 * the model's name (SERVING while a version can answer requests that name no version), and
 * `modelserve.v1.Liveness`, SERVING as long as the process answers.
 */
export class ServerHealth {
  private readonly health = new HealthImplementation({ '': 'SERVING', [livenessService]: 'SERVING' });
  private readonly unsubscribe: () => void;
  private inRotation = true;
  /** While the repository loads (the port is open already): NOT_SERVING everywhere. */
  private loading = false;
  private closed = false;

  constructor(private readonly registry: ModelRegistry) {
    for (const service of servedServices) this.health.setStatus(service, 'SERVING');
    for (const model of registry.list()) this.update(model.name);
    this.unsubscribe = registry.onChange((model) => this.update(model));
  }

  /** Registers `grpc.health.v1.Health` (Check, List, Watch) with `registrar` (the ingress pipeline's, so malformed requests get INVALID_ARGUMENT). */
  addToServer(registrar: ServiceRegistrar): void {
    // grpc-health-check only calls addService on what it is given.
    this.health.addToServer(registrar as Server);
  }

  /** Whether the server is in rotation (SetServingStatus, or false once it drains) and done loading the repository. */
  get serving(): boolean {
    return this.inRotation && !this.loading;
  }

  /**
   * Takes the server out of rotation (every status NOT_SERVING) or puts it back (the overall and
   * API statuses SERVING, each model's as its readiness says). Calls are still answered.
   */
  setServing(serving: boolean): void {
    if (this.closed) return;
    this.inRotation = serving;
    this.apply();
  }

  /**
   * While the repository loads, the overall and API statuses are NOT_SERVING and models have none
   * yet (Check of a model: NOT_FOUND); after, each model's follows its readiness.
   */
  setLoading(loading: boolean): void {
    if (this.closed) return;
    this.loading = loading;
    this.apply();
  }

  /** Marks everything NOT_SERVING for good, e.g. while draining. */
  setNotServing(): void {
    this.setServing(false);
    this.closed = true;
    this.unsubscribe();
  }

  private apply(): void {
    const status = this.serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    for (const service of servedServices) this.health.setStatus(service, status);
    for (const model of this.registry.list()) this.update(model.name);
  }

  private update(model: string): void {
    // While loading, models are not listed yet: once loaded they are, in name order (as List
    // answers them), not in the order their loads happened to finish.
    if (this.loading) return;
    this.health.setStatus(model, this.serving && this.registry.isServable(model) ? 'SERVING' : 'NOT_SERVING');
  }
}
