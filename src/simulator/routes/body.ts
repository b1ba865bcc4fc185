import { isJsonObject, type Json } from '../json';
import { Unprocessable } from '../router';

/** Body fields as FastAPI's embedded `Body(...)` parameters validate them (422 on a wrong shape). */
export function bodyObject(body: Json | undefined): Record<string, Json> {
  if (body === undefined) throw new Unprocessable([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  if (!isJsonObject(body))
    throw new Unprocessable([{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]);
  return body;
}

export function bodyList<T extends 'string' | 'integer'>(value: Json | undefined, loc: (string | number)[], item: T): T extends 'string' ? string[] : number[] {
  if (value === undefined) throw new Unprocessable([{ type: 'missing', loc, msg: 'Field required', input: null }]);
  if (!Array.isArray(value)) throw new Unprocessable([{ type: 'list_type', loc, msg: 'Input should be a valid list', input: value }]);
  value.forEach((v, i) => {
    const ok = item === 'string' ? typeof v === 'string' : typeof v === 'number' && Number.isInteger(v);
    if (!ok)
      throw new Unprocessable([
        item === 'string'
          ? { type: 'string_type', loc: [...loc, i], msg: 'Input should be a valid string', input: v }
          : { type: 'int_type', loc: [...loc, i], msg: 'Input should be a valid integer', input: v },
      ]);
  });
  return value as T extends 'string' ? string[] : number[];
}

export function bodyString(value: Json | undefined, loc: (string | number)[]): string {
  if (value === undefined) throw new Unprocessable([{ type: 'missing', loc, msg: 'Field required', input: null }]);
  if (typeof value !== 'string') throw new Unprocessable([{ type: 'string_type', loc, msg: 'Input should be a valid string', input: value }]);
  return value;
}
