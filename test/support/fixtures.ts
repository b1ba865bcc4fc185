import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Captured and constructed InvokeAI data, copied into the repo (see its README.md for where each file came from). */
export const FIXTURES = join(__dirname, '..', 'fixtures', 'invokeai');

export function readFixture<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8')) as T;
}
