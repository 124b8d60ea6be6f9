/**
 * A replica's load as the policy reads it: requests in flight or queued, averaged over time. By
 * Little's law that is the rate of the total time requests spent inside the replica, the
 * `modelserve_inference_request_duration_seconds_sum` counter summed over every label set: the
 * same figure the Kubernetes HPA reads through prometheus-adapter
 * (`sum by (pod) (rate(modelserve_inference_request_duration_seconds_sum[1m]))`).
 */

const metric = 'modelserve_inference_request_duration_seconds_sum';

/** The sum of `metric` over every label set in a Prometheus text exposition. */
export function requestSecondsOf(text: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    // name{labels} value [timestamp]; label values may hold spaces, so the value follows the last '}'.
    const rest = line[metric.length] === '{' ? line.slice(line.lastIndexOf('}') + 1) : line.slice(metric.length);
    const value = Number(rest.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** Fetches `http://<address>/metrics` and returns the request seconds so far. */
export async function scrapeRequestSeconds(address: string, timeoutMs: number): Promise<number> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET http://${address}/metrics: HTTP ${response.status}`);
  return requestSecondsOf(await response.text());
}

/** One replica's counter between scrapes: each reading gives the load since the one before. */
export class LoadMeter {
  #last: { seconds: number; atMs: number } | undefined;

  /**
   * The mean requests in flight or queued since the previous reading (undefined for the first);
   * `atMs` is a monotonic time. A counter that went down (a restarted process) counts from 0.
   */
  read(seconds: number, atMs: number): number | undefined {
    const last = this.#last;
    this.#last = { seconds, atMs };
    if (last === undefined || atMs <= last.atMs) return undefined;
    const spent = seconds >= last.seconds ? seconds - last.seconds : seconds;
    return spent / ((atMs - last.atMs) / 1000);
  }
}
