/**
 * grpcurl's -d input rules (Go's encoding/json stream + protojson), for the emulator in
 * ../support/grpcurl.ts. Kept apart so that file stays small; it is not a test itself.
 */
import protobuf from 'protobufjs';

/** grpcurl's -d: a stream of JSON values separated by whitespace (encoding/json's Decoder), split and parsed. */
export function parseJsonStream(data: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  for (;;) {
    while (i < data.length && /\s/.test(data[i]!)) i++;
    if (i >= data.length) return values;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < data.length; i++) {
      const c = data[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (--depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && /\s/.test(c)) break;
    }
    values.push(JSON.parse(data.slice(start, i)));
  }
}

/** protoc's json_name: lowerCamelCase of the field name. */
const jsonName = (name: string) => name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const intPattern = /^-?\d+$/;

/**
 * Checks one JSON value against a message type as protojson (grpcurl's decoder) does, and renames
 * lowerCamelCase keys to the descriptor's field names, which are all protobufjs's fromObject knows.
 * protobufjs alone would silently drop unknown fields and coerce wrong types; grpcurl rejects both.
 */
export function fromJson(type: protobuf.Type, value: unknown): Record<string, unknown> {
  const typeName = type.fullName.slice(1);
  if (!isObject(value)) throw new Error(`message type ${typeName}: expected a JSON object, got ${JSON.stringify(value)}`);
  const out: Record<string, unknown> = {};
  const oneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => jsonName(f.name) === key);
    if (field === undefined) throw new Error(`message type ${typeName} has no known field named ${key}`);
    if (field.name in out) throw new Error(`message type ${typeName}: field ${field.name} given twice`);
    if (v === null) continue; // protojson: null leaves the field unset
    field.resolve();
    const oneof = field.partOf?.name;
    if (oneof !== undefined) {
      if (oneofs.has(oneof)) throw new Error(`message type ${typeName}: oneof ${oneof} set twice (${oneofs.get(oneof)}, ${field.name})`);
      oneofs.set(oneof, field.name);
    }
    const where = `${typeName}.${field.name}`;
    if (field instanceof protobuf.MapField) {
      if (!isObject(v)) throw new Error(`${where}: expected a JSON object for a map`);
      out[field.name] = Object.fromEntries(Object.entries(v).map(([k, e]) => [k, fromJsonValue(field, e, where)]));
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw new Error(`${where}: expected a JSON array for a repeated field`);
      out[field.name] = v.map((e: unknown) => fromJsonValue(field, e, where));
    } else out[field.name] = fromJsonValue(field, v, where);
  }
  return out;
}

/** One singular value of `field` (an element, for repeated fields) under protojson's rules. */
function fromJsonValue(field: protobuf.Field, v: unknown, where: string): unknown {
  const bad = () => new Error(`${where}: bad value for ${field.type}: ${JSON.stringify(v)}`);
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return fromJson(resolved, v);
  if (resolved instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in resolved.values) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw bad();
  }
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw bad();
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad();
      return v;
    case 'bytes': // standard or URL-safe base64, padded or not
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw bad();
      return Buffer.from(v, 'base64');
    case 'float':
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v)) return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      throw bad();
    default: {
      // Every integer type: a JSON number with no fraction, or a decimal string (64-bit ones kept exact).
      const unsigned = field.type.startsWith('uint') || field.type.startsWith('fixed');
      const text = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' && intPattern.test(v) ? v : undefined;
      if (text === undefined || (unsigned && text.startsWith('-'))) throw bad();
      const n = BigInt(text);
      const bits = /64$/.test(field.type) ? 64n : 32n;
      const [min, max] = unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
      if (n < min || n > max) throw bad();
      return bits === 64n ? text : Number(n);
    }
  }
}

/**
 * protobufjs's toObject prints a proto3 scalar the sender set explicitly to its default (protobufjs
 * encoders write `raw_contents: ''` on the wire); protojson never prints such implicit-presence
 * defaults. Removes them from `object` (a toObject result of `type`, longs/enums/bytes as strings).
 */
export function dropImplicitDefaults(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined) continue;
    field.resolve();
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      const each = (v: unknown) => dropImplicitDefaults(resolved, v as Record<string, unknown>);
      if (field instanceof protobuf.MapField) Object.values(value as object).forEach(each);
      else if (field.repeated) (value as unknown[]).forEach(each);
      else each(value);
    } else if (!field.hasPresence && !field.repeated && !field.map) {
      const isDefault = resolved instanceof protobuf.Enum ? resolved.values[value as string] === 0 : ['', 0, '0', false].includes(value as never);
      if (isDefault) delete object[field.name];
    }
  }
  return object;
}
