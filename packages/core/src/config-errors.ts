/**
 * config.yaml's problems in words: each names the key, says what the key accepts (read from the
 * schema itself, so it cannot drift from what is checked) and what it got, and suggests the key
 * meant when an unknown one is a near miss.
 */
import { z } from 'zod';
import { closest, suggestKey } from './suggest.js';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** One message per problem: `key.path: expected …, got …` (`(top level)` for the file as a whole). */
export function describeConfigIssues(schema: z.ZodType, issues: readonly Issue[], input: unknown): string[] {
  return issues.flatMap((issue) => describeIssue(schema, issue, input, []));
}

function describeIssue(root: z.ZodType, issue: Issue, input: unknown, prefix: Path): string[] {
  const path = [...prefix, ...issue.path];
  const schema = schemaAt(root, path);
  const value = valueAt(input, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const valid = keysOf(schema);
      return issue.keys.map((key) => {
        const meant = suggestKey(key, valid);
        return `${keyPath([...path, key])}: unknown key; ${meant === undefined ? `expected one of ${valid.join(', ')}` : `did you mean ${meant}?`}`;
      });
    }
    case 'invalid_union':
      return describeUnion(root, issue, input, path, schema, value);
    case 'invalid_key':
      return [`${keyPath(path)}: expected ${issue.issues[0]?.message ?? 'a valid key'} as key, got ${show(path.at(-1))}`];
    case 'custom':
      return [`${keyPath(path)}: ${issue.message}`];
    default:
      return [`${keyPath(path)}: ${schema === undefined ? issue.message : `expected ${accepts(schema)}, got ${show(value)}`}`];
  }
}

/**
 * A value none of a union's forms took: when its keys are one form's, that form's own problems;
 * else every form, what was got, and the form meant when the value is a near miss of one.
 */
function describeUnion(root: z.ZodType, issue: Extract<Issue, { code: 'invalid_union' }>, input: unknown, path: Path, schema: z.ZodType | undefined, value: unknown): string[] {
  const options = schema instanceof z.ZodUnion ? (schema.options as readonly z.ZodType[]).map(unwrap) : [];
  if (isMapping(value)) {
    const keys = Object.keys(value);
    const matching = options.findIndex((o) => o instanceof z.ZodObject && keys.length > 0 && keys.every((k) => k in o.shape));
    const errors = issue.errors[matching];
    if (errors !== undefined) return errors.flatMap((inner) => describeIssue(root, inner, input, path));
  }
  const forms = options.map(form);
  let meant: string | undefined;
  if (typeof value === 'string') {
    const literal = closest(value, forms);
    const keyed = options.find((o) => o instanceof z.ZodObject && closest(value, Object.keys(o.shape)) !== undefined);
    meant = literal ?? (keyed === undefined ? undefined : form(keyed));
  } else if (isMapping(value) && Object.keys(value).length === 1) {
    const key = Object.keys(value)[0]!;
    meant = closest(key, options.flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : [])));
  }
  const expected = forms.length > 0 ? `one of ${forms.join(', ')}` : issue.message;
  return [`${keyPath(path)}: expected ${expected}, got ${show(value)}${meant === undefined ? '' : `; did you mean ${meant}?`}`];
}

/** The schema under optional, default and pipe wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}

/** The schema that checks the value at `path`; undefined past what the schema describes. */
function schemaAt(root: z.ZodType, path: Path): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(root);
  for (const segment of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<PropertyKey, z.ZodType>)[segment];
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else if (current instanceof z.ZodUnion) {
      const option = (current.options as readonly z.ZodType[]).map(unwrap).find((o) => o instanceof z.ZodObject && typeof segment === 'string' && segment in o.shape);
      current = option instanceof z.ZodObject ? (option.shape as Record<PropertyKey, z.ZodType>)[segment] : undefined;
    } else current = undefined;
    if (current === undefined) return undefined;
    current = unwrap(current);
  }
  return current;
}

function keysOf(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** What a schema accepts, in words: `a whole number from 1 to 64`. */
function accepts(schema: z.ZodType): string {
  if (schema.description !== undefined) return schema.description;
  if (schema instanceof z.ZodNumber) {
    const min = schema.minValue ?? -Infinity;
    const max = schema.maxValue ?? Infinity;
    const noMax = max === Infinity || max === Number.MAX_SAFE_INTEGER;
    const range = Number.isFinite(min) && !noMax ? ` from ${min} to ${max}` : Number.isFinite(min) ? ` ≥ ${min}` : noMax ? '' : ` ≤ ${max}`;
    return `${schema.isInt ? 'a whole number' : 'a number'}${range}`;
  }
  if (schema instanceof z.ZodBoolean) return 'true or false';
  if (schema instanceof z.ZodString) return 'a string';
  if (schema instanceof z.ZodLiteral) return form(schema);
  if (schema instanceof z.ZodArray) {
    const nonEmpty = (schema.def.checks ?? []).some((check) => check._zod.def.check === 'min_length');
    return `${nonEmpty ? 'a non-empty list' : 'a list'}, each ${accepts(unwrap(schema.element as z.ZodType))}`;
  }
  if (schema instanceof z.ZodUnion) return `one of ${(schema.options as readonly z.ZodType[]).map((o) => form(unwrap(o))).join(', ')}`;
  if (schema instanceof z.ZodObject) return `a mapping with keys ${Object.keys(schema.shape).join(', ')}`;
  if (schema instanceof z.ZodRecord) return `a mapping, each value ${accepts(unwrap(schema.valueType as z.ZodType))}`;
  return 'a valid value';
}

/** A schema's shape as one would write it in YAML: `all`, `{latest: N}`, `{specific: [N, ..]}`. */
function form(schema: z.ZodType): string {
  if (schema instanceof z.ZodLiteral) return [...schema.values].map(String).join(' | ');
  if (schema instanceof z.ZodNumber) return 'N';
  if (schema instanceof z.ZodBoolean) return 'true | false';
  if (schema instanceof z.ZodArray) return `[${form(unwrap(schema.element as z.ZodType))}, ..]`;
  if (schema instanceof z.ZodObject) {
    const entries = Object.entries(schema.shape as Record<string, z.ZodType>);
    return `{${entries.map(([key, inner]) => `${key}: ${form(unwrap(inner))}`).join(', ')}}`;
  }
  return '..';
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(input: unknown, path: Path): unknown {
  let current = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function keyPath(path: Path): string {
  return path.length > 0 ? path.map(String).join('.') : '(top level)';
}

/** A value as YAML's flow style would show it, cut short: `"latest"`, `{latest: 0}`, `[1, 2]`. */
export function showValue(value: unknown): string {
  return show(value);
}

function show(value: unknown): string {
  const text = flow(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function flow(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (isMapping(value)) return `{${Object.entries(value).map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  return String(value);
}
