/** A process's memory and threads as the kernel reports them in /proc/<pid>/status (Linux only). */
import { readFileSync } from 'node:fs';

/** A field of /proc/<pid>/status in bytes (the kernel writes kB); undefined when absent. */
export function procStatusBytes(text: string | undefined, field: 'VmRSS' | 'VmHWM'): number | undefined {
  const match = text === undefined ? null : new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** The process's thread count from /proc/<pid>/status; undefined when absent. */
export function procStatusThreads(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^Threads:\s+(\d+)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** /proc/<pid>/status, or undefined when the process is gone (or this is not Linux). */
export function procStatus(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}
