import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ServerStats } from '@modelserve/proto';

/**
 * The serving process's own health: how late the main thread's event loop runs (every gRPC byte
 * passes through it, so this is what inference in the wrong thread would hurt) and its memory.
 */
export class ServerStatsRecorder {
  // Node's samples include the sampling interval itself: an idle loop reads ~10 ms at resolution 10.
  private static readonly resolutionMs = 10;
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: ServerStatsRecorder.resolutionMs });
  private readonly started = performance.now();

  constructor() {
    this.delay.enable();
  }

  /** The current figures; `reset` starts a new event-loop window. */
  read(reset: boolean): ServerStats {
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - ServerStatsRecorder.resolutionMs) : 0);
    const memory = process.memoryUsage();
    const stats: ServerStats = {
      event_loop_delay_p50_ms: ms(this.delay.percentile(50)),
      event_loop_delay_p99_ms: ms(this.delay.percentile(99)),
      event_loop_delay_max_ms: ms(this.delay.max),
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      uptime_seconds: (performance.now() - this.started) / 1000,
    };
    if (reset) this.delay.reset();
    return stats;
  }

  stop(): void {
    this.delay.disable();
  }
}
