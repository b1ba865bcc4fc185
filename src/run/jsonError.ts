/**
 * Where a JSON text stops being valid JSON: line, column and the JSON path of the value being read, for a
 * one-line message a user can act on. V8's own messages sometimes carry no position and sometimes quote the
 * text, newlines included.
 */
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

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

/** The first syntax error of `text`, or null when it is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxProblem | null {
  const path: (string | number)[] = [];
  let i = 0;
  const describe = (at: number): string => (at >= text.length ? 'end of input' : `${JSON.stringify(text[at])}`);
  const fail = (problem: string, at = i): never => {
    throw new Stop(at, problem);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const expectChar = (c: string, what: string): void => {
    if (text[i] !== c) fail(`expected ${what}, found ${describe(i)}`);
    i++;
  };
  const string = (): string => {
    const start = i;
    expectChar('"', 'a string');
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c < 0x20) fail('control character in a string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`bad escape \\${e ?? ''}`);
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-' || m[0] === '') fail(`unexpected ${describe(i)}`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma' : `expected a property name, found ${describe(i)}`);
        const key = string();
        ws();
        expectChar(':', "':'");
        path.push(key);
        value();
        path.pop();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}', found ${describe(i)}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        path.push(n);
        ws();
        if (text[i] === ']') fail('trailing comma');
        value();
        path.pop();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']', found ${describe(i)}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail(c === undefined ? 'unexpected end of input' : `unexpected ${describe(i)}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe(i)} after the JSON value`);
    return null;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    const before = text.slice(0, err.at);
    const nl = before.lastIndexOf('\n');
    return {
      line: (before.match(/\n/g)?.length ?? 0) + 1,
      column: err.at - nl,
      path: formatPath(path),
      problem: err.problem,
    };
  }
}
