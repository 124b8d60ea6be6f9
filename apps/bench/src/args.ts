/** Parsers of the benchmark programs' command-line values (commander argument parsers). */
import { InvalidArgumentError } from 'commander';

/** An integer of at least `min`. */
export const integer = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
};

/** Seconds (fractions allowed) as milliseconds. */
export const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected seconds ≥ 0, got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
};

/** A number above 0. */
export const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got ${JSON.stringify(value)}`);
  return n;
};

/** A comma-separated list of integers of at least `min`. */
export const integers = (min: number) => (value: string): number[] => value.split(',').filter((s) => s.trim() !== '').map((s) => integer(min)(s.trim()));

/** A comma-separated list of `allowed` values. */
export function choices<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const list = value.split(',').map((s) => s.trim());
    for (const item of list) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`expected a list of ${allowed.join(', ')}, got ${JSON.stringify(item)}`);
    return list as T[];
  };
}

/** Words separated by whitespace, e.g. arguments to pass to another program (no quoting). */
export const words = (value: string): string[] => value.split(/\s+/).filter((word) => word !== '');
