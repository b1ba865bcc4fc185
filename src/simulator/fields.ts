/** Field-level validation of node inputs the way pydantic (lax mode) does it, with its error types and messages. */
import { getEnum, type FieldSpec } from './catalog';
import { isJsonObject, type Json, type JsonObject } from './json';

/** One entry of FastAPI's 422 `detail` list (pydantic v2 error shape). */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: Json;
  ctx?: JsonObject;
}

/** pydantic's numeric constraint errors (ge/le/gt/lt/multiple_of). */
function numberIssue(f: FieldSpec, v: number, loc: (string | number)[]): ValidationIssue | undefined {
  if (f.ge !== undefined && !(v >= f.ge)) return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${f.ge}`, input: v, ctx: { ge: f.ge } };
  if (f.gt !== undefined && !(v > f.gt)) return { type: 'greater_than', loc, msg: `Input should be greater than ${f.gt}`, input: v, ctx: { gt: f.gt } };
  if (f.le !== undefined && !(v <= f.le)) return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${f.le}`, input: v, ctx: { le: f.le } };
  if (f.lt !== undefined && !(v < f.lt)) return { type: 'less_than', loc, msg: `Input should be less than ${f.lt}`, input: v, ctx: { lt: f.lt } };
  if (f.mo !== undefined && Math.abs(v / f.mo - Math.round(v / f.mo)) > 1e-9)
    return { type: 'multiple_of', loc, msg: `Input should be a multiple of ${f.mo}`, input: v, ctx: { multiple_of: f.mo } };
  return undefined;
}

export function coerceField(f: FieldSpec, v: Json, loc: (string | number)[]): { value: Json } | { issue: ValidationIssue } {
  const r = coerceKind(f, v, loc);
  if ('value' in r && typeof r.value === 'number') {
    const issue = numberIssue(f, r.value, loc);
    if (issue) return { issue };
  }
  return r;
}

type Coerced = { value: Json } | { issue: ValidationIssue };
type Coercer = (v: Json, loc: (string | number)[], f: FieldSpec) => Coerced;

function toInt(v: Json, loc: (string | number)[]): Coerced {
  if (typeof v === 'boolean') return { value: v ? 1 : 0 };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return { value: v };
    return { issue: { type: 'int_from_float', loc, msg: 'Input should be a valid integer, got a number with a fractional part', input: v } };
  }
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return { value: Number.parseInt(v, 10) };
  if (typeof v === 'string') return { issue: { type: 'int_parsing', loc, msg: 'Input should be a valid integer, unable to parse string as an integer', input: v } };
  return { issue: { type: 'int_type', loc, msg: 'Input should be a valid integer', input: v } };
}

function toNumber(v: Json, loc: (string | number)[]): Coerced {
  if (typeof v === 'number') return { value: v };
  if (typeof v === 'boolean') return { value: v ? 1 : 0 };
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return { value: Number(v) };
  if (typeof v === 'string') return { issue: { type: 'float_parsing', loc, msg: 'Input should be a valid number, unable to parse string as a number', input: v } };
  return { issue: { type: 'float_type', loc, msg: 'Input should be a valid number', input: v } };
}

function toString(v: Json, loc: (string | number)[]): Coerced {
  if (typeof v === 'string') return { value: v };
  // InvokeAI's BaseInvocation sets coerce_numbers_to_str.
  if (typeof v === 'number') return { value: String(v) };
  return { issue: { type: 'string_type', loc, msg: 'Input should be a valid string', input: v } };
}

function toBool(v: Json, loc: (string | number)[]): Coerced {
  if (typeof v === 'boolean') return { value: v };
  if (v === 0 || v === 1) return { value: v === 1 };
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return { value: true };
    if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return { value: false };
    return { issue: { type: 'bool_parsing', loc, msg: 'Input should be a valid boolean, unable to interpret input', input: v } };
  }
  return { issue: { type: 'bool_type', loc, msg: 'Input should be a valid boolean', input: v } };
}

function toEnum(v: Json, loc: (string | number)[], f: FieldSpec): Coerced {
  const values = getEnum(f.k.slice(2)) ?? [];
  if (values.some((x) => x === v)) return { value: v };
  const expected = values.map((x) => JSON.stringify(x).replace(/"/g, "'"));
  const list = expected.length > 1 ? `${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1] ?? ''}` : (expected[0] ?? '');
  return { issue: { type: 'literal_error', loc, msg: `Input should be ${list}`, input: v, ctx: { expected: list } } };
}

function toConst(v: Json, loc: (string | number)[], f: FieldSpec): Coerced {
  const c = f.k.slice(2);
  if (v === c) return { value: v };
  return { issue: { type: 'literal_error', loc, msg: `Input should be '${c}'`, input: v, ctx: { expected: `'${c}'` } } };
}

const COERCERS: ReadonlyMap<string, Coercer> = new Map<string, Coercer>([
  ['*', (v) => ({ value: v })],
  ['i', toInt],
  ['n', toNumber],
  ['s', toString],
  ['b', toBool],
  ['a', (v, loc) => (Array.isArray(v) ? { value: v } : { issue: { type: 'list_type', loc, msg: 'Input should be a valid list', input: v } })],
  ['o', (v, loc) => (isJsonObject(v) ? { value: v } : { issue: { type: 'dict_type', loc, msg: 'Input should be a valid dictionary', input: v } })],
  ['e:', toEnum],
  ['c:', toConst],
]);

/** pydantic lax-mode coercion for one field; returns an issue instead of throwing. */
function coerceKind(f: FieldSpec, v: Json, loc: (string | number)[]): Coerced {
  if (v === null) {
    if (f.z || f.k === '*') return { value: null };
    return { issue: { type: typeIssue(f.k), loc, msg: typeMsg(f.k), input: v } };
  }
  const coercer = COERCERS.get(f.k.startsWith('e:') || f.k.startsWith('c:') ? f.k.slice(0, 2) : f.k);
  return coercer ? coercer(v, loc, f) : { value: v };
}

function typeIssue(k: string): string {
  return { i: 'int_type', n: 'float_type', s: 'string_type', b: 'bool_type', a: 'list_type', o: 'dict_type' }[k] ?? 'literal_error';
}
function typeMsg(k: string): string {
  return (
    {
      i: 'Input should be a valid integer',
      n: 'Input should be a valid number',
      s: 'Input should be a valid string',
      b: 'Input should be a valid boolean',
      a: 'Input should be a valid list',
      o: 'Input should be a valid dictionary',
    }[k] ?? 'Input should be a valid value'
  );
}
