/*
 * Field types of InvokeAI's invocations, for checking `--set` values before anything is enqueued.
 *
 * Read from the simulator's node catalog, which scripts/gen-node-catalog.ts generates from the real server's
 * OpenAPI document (InvokeAI 6.14), rather than from a second generated file: both would be the same data from
 * the same document, and two copies could drift. Only the JSON is shared (no simulator code is loaded), and it
 * ships in dist/ anyway. Node types it does not know (custom nodes, newer servers) are not checked here: the
 * server's own validation still answers for them.
 */
import type { FieldSpec } from '../simulator/catalog';
import rawCatalog from '../simulator/nodeCatalog.json';

interface Catalog {
  readonly enums: Readonly<Record<string, readonly unknown[]>>;
  readonly invocations: Readonly<Record<string, { readonly f: readonly FieldSpec[] }>>;
}

const catalog = rawCatalog as unknown as Catalog;

/** The type of one input field, as the server's schema declares it. */
export interface FieldType {
  readonly kind: 'integer' | 'number' | 'string' | 'boolean' | 'array' | 'object' | 'any' | 'enum' | 'const';
  readonly nullable: boolean;
  /** Allowed values of an `enum` (or the one value of a `const`). */
  readonly values?: readonly unknown[];
  readonly ge?: number;
  readonly le?: number;
  readonly gt?: number;
  readonly lt?: number;
  readonly multipleOf?: number;
}

const KINDS: Readonly<Record<string, FieldType['kind']>> = { i: 'integer', n: 'number', s: 'string', b: 'boolean', a: 'array', o: 'object', '*': 'any' };

/** Whether the catalog knows this node type (its fields can then be checked). */
export function knownNodeType(type: string): boolean {
  return Object.hasOwn(catalog.invocations, type);
}

/** The field's type; `undefined` when the node type is unknown or has no such field. */
export function fieldType(nodeType: string, field: string): FieldType | undefined {
  if (!knownNodeType(nodeType)) return undefined;
  const spec = catalog.invocations[nodeType]?.f.find((f) => f.n === field);
  if (!spec) return undefined;
  const bounds = {
    ...(spec.ge === undefined ? {} : { ge: spec.ge }),
    ...(spec.le === undefined ? {} : { le: spec.le }),
    ...(spec.gt === undefined ? {} : { gt: spec.gt }),
    ...(spec.lt === undefined ? {} : { lt: spec.lt }),
    ...(spec.mo === undefined ? {} : { multipleOf: spec.mo }),
  };
  const nullable = spec.z === 1;
  if (spec.k.startsWith('e:')) {
    const values = Object.hasOwn(catalog.enums, spec.k.slice(2)) ? catalog.enums[spec.k.slice(2)] : undefined;
    return values ? { kind: 'enum', nullable, values } : { kind: 'any', nullable };
  }
  if (spec.k.startsWith('c:')) return { kind: 'const', nullable, values: [spec.k.slice(2)] };
  return { kind: KINDS[spec.k] ?? 'any', nullable, ...bounds };
}

/** Input names of a node type in the catalog, in model order (for "did you mean" style messages). */
export function fieldNames(nodeType: string): string[] {
  return knownNodeType(nodeType) ? (catalog.invocations[nodeType]?.f.map((f) => f.n) ?? []) : [];
}

/** "an integer", "one of 'euler', 'heun'", … with "or null" for nullable fields. */
export function describeType(t: FieldType): string {
  const base = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a JSON array',
    object: 'a JSON object',
    any: 'any value',
    enum: `one of ${(t.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`,
    const: `${JSON.stringify(t.values?.[0])}`,
  }[t.kind];
  return t.nullable && t.kind !== 'any' ? `${base} or null` : base;
}

/** Why `value` does not fit `t`, as a phrase ("expected an integer"), or null when it fits. */
export function typeProblem(t: FieldType, value: unknown): string | null {
  if (value === null) return t.nullable || t.kind === 'any' ? null : `expected ${describeType(t)}`;
  if (!fitsKind(t, value)) return `expected ${describeType(t)}`;
  if (typeof value !== 'number') return null;
  if (t.ge !== undefined && !(value >= t.ge)) return `must be at least ${t.ge}`;
  if (t.le !== undefined && !(value <= t.le)) return `must be at most ${t.le}`;
  if (t.gt !== undefined && !(value > t.gt)) return `must be more than ${t.gt}`;
  if (t.lt !== undefined && !(value < t.lt)) return `must be less than ${t.lt}`;
  if (t.multipleOf !== undefined && Math.abs(value / t.multipleOf - Math.round(value / t.multipleOf)) > 1e-9) return `must be a multiple of ${t.multipleOf}`;
  return null;
}

function fitsKind(t: FieldType, v: unknown): boolean {
  switch (t.kind) {
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'enum':
    case 'const':
      return (t.values ?? []).some((x) => x === v);
    default:
      return true;
  }
}
