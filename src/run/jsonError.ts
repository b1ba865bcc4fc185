/**
 * Where a JSON text stops being valid JSON: line, column and the JSON path of the value being read, for a
 * one-line message a user can act on. V8's own messages sometimes carry no position and sometimes quote the
 * text, newlines included. The parsing is jsonc-parser's, held to strict JSON; the words are ours.
 */
import { getLocation, printParseErrorCode, visit, type JSONPath, type ParseOptions } from 'jsonc-parser';
import { formatPath } from '../workflow';

export interface JsonSyntaxProblem {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** `nodes.a.width`, `edges[2]`, or `` for the top level. */
  path: string;
  problem: string;
}

const STRICT: ParseOptions = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false };

// By name: ParseErrorCode is a const enum, which isolatedModules cannot read.
type Code = ReturnType<typeof printParseErrorCode>;

const STRING_ERRORS = new Set<Code>(['UnexpectedEndOfString', 'InvalidCharacter', 'InvalidEscapeCharacter', 'InvalidUnicode']);
const NUMBER_ERRORS = new Set<Code>(['UnexpectedEndOfNumber', 'InvalidNumberFormat']);
// The other codes (a ',' ':' '}' ']' key or value missing, a stray symbol or comment) are worded by context.

interface FirstError {
  code: Code;
  offset: number;
  length: number;
  /** The top-level value was complete: jsonc-parser often calls text after it an InvalidSymbol, not EndOfFileExpected. */
  afterValue: boolean;
}

interface Explained {
  at: number;
  problem: string;
  /** The problem is the container's (a key, a ':' or ',' missing), so the path is the container's. */
  container: boolean;
}

/** The first syntax error of `text`, or null when it is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxProblem | null {
  const found = firstError(text);
  if (!found) return null;
  const { path, isAtPropertyKey } = getLocation(text, found.offset);
  const { at, problem, container } = explain(text, found, path, isAtPropertyKey);
  const before = text.slice(0, at);
  return {
    line: (before.match(/\n/g)?.length ?? 0) + 1,
    column: at - before.lastIndexOf('\n'),
    path: formatPath(container ? path.slice(0, -1) : path),
    problem,
  };
}

function firstError(text: string): FirstError | null {
  const errors: FirstError[] = [];
  let depth = 0;
  let done = false;
  const ended = (): void => {
    if (depth === 0) done = true;
  };
  const open = (): void => void depth++;
  // jsonc-parser ends a container before it reports its missing '}' or ']': a zero-length end is no end.
  const close = (_offset: number, length: number): void => {
    depth--;
    if (length > 0) ended();
  };
  visit(
    text,
    {
      onObjectBegin: open,
      onArrayBegin: open,
      onObjectEnd: close,
      onArrayEnd: close,
      onLiteralValue: ended,
      onError: (error, offset, length) => void errors.push({ code: printParseErrorCode(error), offset, length, afterValue: done }),
    },
    STRICT,
  );
  return errors[0] ?? null;
}

function explain(text: string, f: FirstError, path: JSONPath, atKey: boolean): Explained {
  const found = describe(text, f.offset);
  const says = (problem: string, container = false): Explained => ({ at: f.offset, problem, container });
  if (f.afterValue || f.code === 'EndOfFileExpected') return says(`unexpected ${found} after the JSON value`);
  // jsonc-parser names an error by the token it could not read, and its scanner reports a bad token wherever
  // it stands: what the grammar expected there follows from the last token of the valid text before it.
  const prev = lastSignificant(text, f.offset);
  if (atKey && prev === '"') return says(`expected ':', found ${found}`, true);
  if (prev !== undefined && !'[{:,'.includes(prev)) {
    return says(`expected ',' or '${typeof path.at(-1) === 'number' ? ']' : '}'}', found ${found}`, true);
  }
  if (STRING_ERRORS.has(f.code)) return { ...stringProblem(text, f.offset), container: atKey };
  if (NUMBER_ERRORS.has(f.code)) return says(`bad number ${JSON.stringify(text.slice(f.offset, f.offset + f.length))}`);
  if (prev === ',' && '}]'.includes(text[f.offset] ?? '-')) return says('trailing comma', atKey);
  if (atKey) return says(`expected a property name, found ${found}`, true);
  return says(f.offset >= text.length ? 'unexpected end of input' : `unexpected ${found}`);
}

function lastSignificant(text: string, before: number): string | undefined {
  let i = before - 1;
  while (i >= 0 && ' \t\n\r'.includes(text[i] ?? '')) i--;
  return text[i];
}

/**
 * jsonc-parser reports a bad string at its opening quote and ends it at a raw newline ("unexpected end of
 * string"), so this finds the character JSON forbids: a raw control character or a bad escape.
 */
function stringProblem(text: string, start: number): { at: number; problem: string } {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) break;
    if (c < 0x20) return { at: i, problem: 'control character in a string (escape it)' };
    if (c !== 0x5c) continue;
    const e = text[i + 1];
    if (e === 'u' && !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { at: i, problem: 'bad \\u escape' };
    if (e === undefined || !'"\\/bfnrtu'.includes(e)) return { at: i, problem: `bad escape \\${e ?? ''}` };
    i++;
  }
  return { at: start, problem: 'unterminated string' };
}

function describe(text: string, at: number): string {
  return at >= text.length ? 'end of input' : JSON.stringify(text[at]);
}
