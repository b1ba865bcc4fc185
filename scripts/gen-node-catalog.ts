/**
 * Builds `src/simulator/nodeCatalog.json` from a real InvokeAI OpenAPI document.
 *
 * Usage: `npx tsx scripts/gen-node-catalog.ts [openapi.json] [out.json]`
 * (defaults: `test/fixtures/invokeai/openapi-head.json`, InvokeAI 6.14.0-alpha's schema, and the committed catalog).
 *
 * The simulator cannot ship the 3 MB schema, so this keeps only what it needs to accept every real node
 * type and to answer with a schema-valid output: per invocation its fields in model order (pydantic
 * dumps follow the class MRO, and so does the schema's `properties`), their defaults and rough types;
 * per output type a JSON template whose dynamic parts are `@` markers resolved at run time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const repoRoot = path.resolve(__dirname, '..');
const inFile = process.argv[2] ?? path.resolve(repoRoot, 'test/fixtures/invokeai/openapi-head.json');
const outFile = process.argv[3] ?? path.resolve(repoRoot, 'src/simulator/nodeCatalog.json');

const doc = JSON.parse(readFileSync(inFile, 'utf8')) as { components: { schemas: Record<string, Schema> } };
const schemas = doc.components.schemas;

function isObj(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function refName(s: Schema): string | undefined {
  const r = s['$ref'];
  return typeof r === 'string' ? r.split('/').pop() : undefined;
}

function resolve(s: Schema): Schema {
  const name = refName(s);
  if (name === undefined) return s;
  const target = schemas[name];
  if (!target) throw new Error(`dangling $ref ${name}`);
  return target;
}

/** Named enums are shared by many nodes; the catalog stores each once. */
const enums: Record<string, Json[]> = {};

const anonByContent = new Map<string, string>();
function anonEnumName(values: Json[]): string {
  const key = JSON.stringify(values);
  let n = anonByContent.get(key);
  if (n === undefined) {
    n = `L${anonByContent.size}`;
    anonByContent.set(key, n);
  }
  return n;
}

/** Field kinds: i integer, n number, s string, b boolean, a array, o object, * anything, e:<Enum>, c:<const>. */
function kindOf(s: Schema): { kind: string; nullable: boolean } {
  const variants = Array.isArray(s['anyOf']) ? (s['anyOf'] as Schema[]) : Array.isArray(s['oneOf']) ? (s['oneOf'] as Schema[]) : [s];
  let nullable = false;
  const kinds = new Set<string>();
  for (const v0 of variants) {
    if (v0['type'] === 'null') {
      nullable = true;
      continue;
    }
    const name = refName(v0);
    const v = resolve(v0);
    if (Array.isArray(v['enum'])) {
      // Anonymous enums (Literal[...] fields) get a synthetic name from the field, deduplicated by content.
      const en = name ?? anonEnumName(v['enum']);
      enums[en] = v['enum'];
      kinds.add(`e:${en}`);
    } else if (v['type'] === 'integer') kinds.add('i');
    else if (v['type'] === 'number') kinds.add('n');
    else if (v['type'] === 'string') kinds.add('s');
    else if (v['type'] === 'boolean') kinds.add('b');
    else if (v['type'] === 'array') kinds.add('a');
    else if (v['type'] === 'object' || v['properties'] !== undefined) kinds.add('o');
    else kinds.add('*');
  }
  if (kinds.size === 1) return { kind: [...kinds][0] ?? '*', nullable };
  // A union of kinds (e.g. ConditioningField | ConditioningField[]) is only checked loosely.
  if ([...kinds].every((k) => k === 'i' || k === 'n')) return { kind: 'n', nullable };
  return { kind: '*', nullable };
}

const NAME_PREFIX: Record<string, string> = {
  latents_name: 'Tensor',
  tensor_name: 'Tensor',
  mask_name: 'Tensor',
  masked_latents_name: 'Tensor',
  conditioning_name: 'ConditioningFieldData',
  video_name: 'Video',
};

/** A schema-valid example value; dynamic parts become `@` markers (see nodes.ts). */
function sample(s0: Schema, prop: string, depth: number): Json {
  const name = refName(s0);
  if (name === 'ImageField') return '@image';
  if (name === 'ModelIdentifierField') return `@model:${prop}`;
  const s = resolve(s0);
  if (depth > 8) return null;
  if ('const' in s) return s['const'] ?? null;
  if (Array.isArray(s['enum'])) return s['enum'][0] ?? null;
  const variants = (Array.isArray(s['anyOf']) ? s['anyOf'] : Array.isArray(s['oneOf']) ? s['oneOf'] : null) as Schema[] | null;
  if (variants) {
    const firstReal = variants.find((v) => v['type'] !== 'null');
    return firstReal ? sample(firstReal, prop, depth + 1) : null;
  }
  switch (s['type']) {
    case 'string': {
      const prefix = NAME_PREFIX[prop];
      if (prefix) return `@name:${prefix}`;
      return typeof s['default'] === 'string' ? s['default'] : '';
    }
    case 'integer':
    case 'number': {
      if (typeof s['default'] === 'number') return s['default'];
      const min = s['minimum'] ?? s['exclusiveMinimum'];
      if (typeof min === 'number') return s['type'] === 'integer' ? Math.ceil(min + (s['exclusiveMinimum'] !== undefined ? 1 : 0)) : min + (s['exclusiveMinimum'] !== undefined ? 0.5 : 0);
      return 0;
    }
    case 'boolean':
      return typeof s['default'] === 'boolean' ? s['default'] : false;
    case 'array': {
      if (isObj(s['items']) && refName(s['items']) === 'ImageField') return '@images';
      const min = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
      const items = isObj(s['items']) ? (s['items']) : {};
      return Array.from({ length: min }, () => sample(items, prop, depth + 1));
    }
    default:
      break;
  }
  if (isObj(s['properties'])) {
    const out: { [k: string]: Json } = {};
    const required = new Set(Array.isArray(s['required']) ? (s['required'] as string[]) : []);
    for (const [k, p] of Object.entries(s['properties'])) {
      if (!isObj(p)) continue;
      const ps = p;
      if (!required.has(k) && 'default' in ps) out[k] = ps['default'] ?? null;
      else if (!required.has(k) && kindOf(ps).nullable) out[k] = null;
      else out[k] = sample(ps, k, depth + 1);
    }
    return out;
  }
  if (s['type'] === 'object') return {};
  return null;
}

interface FieldSpec {
  n: string; // name
  k: string; // kind
  d?: Json; // default (absent ⇒ required by pydantic)
  z?: 1; // nullable
  /** Numeric constraints (pydantic ge/le/gt/lt/multiple_of). */
  ge?: number;
  le?: number;
  gt?: number;
  lt?: number;
  mo?: number;
  /** Raised at run time when still null: c = RequiredConnectionException, a = MissingInputException. */
  r?: 'c' | 'a';
}

function numericBranch(p: Schema): Schema | undefined {
  const variants = Array.isArray(p['anyOf']) ? (p['anyOf'] as Schema[]) : [p];
  return variants.find((v) => v['type'] === 'integer' || v['type'] === 'number');
}

const invocations: Record<string, { o: string; f: FieldSpec[]; x?: 1 }> = {};
const outputs: Record<string, Record<string, Json>> = {};

for (const [name, s] of Object.entries(schemas)) {
  if (s['class'] !== 'output') continue;
  const props = s['properties'] as Record<string, Schema>;
  const type = props['type']?.['const'];
  if (typeof type !== 'string') continue;
  const tpl: Record<string, Json> = {};
  for (const [k, p] of Object.entries(props)) tpl[k] = k === 'type' ? type : sample(p, k, 0);
  outputs[type] = tpl;
  void name;
}

for (const s of Object.values(schemas)) {
  if (s['class'] !== 'invocation') continue;
  const props = s['properties'] as Record<string, Schema>;
  const type = props['type']?.['const'];
  const outRef = isObj(s['output']) ? refName(s['output']) : undefined;
  if (typeof type !== 'string' || outRef === undefined) continue;
  const outType = ((schemas[outRef]?.['properties'] as Record<string, Schema> | undefined)?.['type']?.['const']) as string;
  const required = new Set(Array.isArray(s['required']) ? (s['required'] as string[]) : []);
  const fields: FieldSpec[] = [];
  for (const [k, p] of Object.entries(props)) {
    const { kind, nullable } = kindOf(p);
    const f: FieldSpec = { n: k, k: k === 'type' ? `c:${type}` : kind };
    if (nullable) f.z = 1;
    if ('default' in p && !required.has(k)) f.d = p['default'] ?? null;
    const num = numericBranch(p);
    if (num) {
      if (typeof num['minimum'] === 'number') f.ge = num['minimum'];
      if (typeof num['maximum'] === 'number') f.le = num['maximum'];
      if (typeof num['exclusiveMinimum'] === 'number') f.gt = num['exclusiveMinimum'];
      if (typeof num['exclusiveMaximum'] === 'number') f.lt = num['exclusiveMaximum'];
      if (typeof num['multipleOf'] === 'number') f.mo = num['multipleOf'];
    }
    const origRequired = p['orig_required'] === true && !('orig_default' in p) && p['field_kind'] === 'input';
    if (origRequired && (p['default'] === null || p['default'] === undefined)) {
      if (p['input'] === 'connection') f.r = 'c';
      else if (p['input'] === 'any') f.r = 'a';
    }
    fields.push(f);
  }
  invocations[type] = { o: outType, f: fields, ...(s['additionalProperties'] === true ? { x: 1 as const } : {}) };
}

// Loaders name submodels; only these values are valid `submodel_type`s.
const subModelEnum = schemas['SubModelType']?.['enum'];
if (Array.isArray(subModelEnum)) enums['SubModelType'] = subModelEnum;

// Stand-in model identifier for loaders fed no model; enum fields take their first value.
const modelSchema = schemas['ModelIdentifierField'] ?? {};
const modelTemplate: Record<string, Json> = {};
for (const [k, p] of Object.entries((modelSchema['properties'] ?? {}) as Record<string, Schema>)) {
  modelTemplate[k] = k === 'submodel_type' ? null : k === 'key' ? 'sim-model' : k === 'name' ? 'simulated-model' : k === 'hash' ? 'blake3:0' : k === 'type' ? 'main' : sample(p, k, 1);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

// One entry per line: small enough to ship, still readable in a diff.
const section = (o: Record<string, unknown>): string =>
  Object.entries(o)
    .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(',\n');
const text = `{
  "source": ${JSON.stringify(path.basename(inFile))},
  "model": ${JSON.stringify(modelTemplate)},
  "enums": {
${section(sortKeys(enums))}
  },
  "outputs": {
${section(sortKeys(outputs))}
  },
  "invocations": {
${section(sortKeys(invocations))}
  }
}
`;
writeFileSync(outFile, text);
process.stderr.write(`${Object.keys(invocations).length} invocations, ${Object.keys(outputs).length} outputs → ${outFile}\n`);
