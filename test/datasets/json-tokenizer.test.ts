import { JsonHandler, JsonScalar, JsonSyntaxError, JsonTokenizer } from '../../datasets/json-tokenizer';
import { random, randomChunks } from '../support/random-chunks';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

function oneByteChunks(bytes: Buffer): Buffer[] {
  return Array.from(bytes, (b) => Buffer.from([b]));
}

/** Builds the value from the events, as JSON.parse would. */
class TreeBuilder implements JsonHandler {
  result: unknown;
  private stack: Array<{ container: unknown[] | Record<string, unknown>; key?: string }> = [];
  events = 0;

  private put(v: unknown): void {
    this.events++;
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) this.result = v;
    else if (Array.isArray(top.container)) top.container.push(v);
    else
      Object.defineProperty(top.container, top.key!, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }

  startObject(): boolean {
    const o = {};
    this.put(o);
    this.stack.push({ container: o });
    return true;
  }

  endObject(): void {
    this.stack.pop();
  }

  startArray(): boolean {
    const a: unknown[] = [];
    this.put(a);
    this.stack.push({ container: a });
    return true;
  }

  endArray(): void {
    this.stack.pop();
  }

  key(name: string): void {
    this.stack[this.stack.length - 1].key = name;
  }

  value(v: JsonScalar): void {
    this.put(v);
  }
}

function tokenize(pieces: Buffer[], handler: JsonHandler = new TreeBuilder()): JsonHandler {
  const t = new JsonTokenizer(handler);
  for (const p of pieces) t.write(p);
  t.end();
  return handler;
}

function parsed(pieces: Buffer[]): unknown {
  return (tokenize(pieces) as TreeBuilder).result;
}

function syntaxError(pieces: Buffer[]): JsonSyntaxError {
  try {
    tokenize(pieces);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    throw err;
  }
  throw new Error('expected a JsonSyntaxError');
}

/** JSON.parse's error position for `text`, if its message has one. */
function jsonParsePosition(text: string): number | undefined {
  try {
    JSON.parse(text);
  } catch (err) {
    const m = /at position (\d+)/.exec((err as Error).message);
    return m ? Number(m[1]) : undefined;
  }
  throw new Error(`JSON.parse accepted ${text}`);
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const STRING_PARTS = [
  'a',
  'Z',
  ' ',
  'é',
  'ß',
  '€',
  '日本',
  '😀',
  '\u0000',
  '\n',
  '\t',
  '"',
  '\\',
  '/',
  '\u001f',
  '\u007f',
  '\u2028',
  '\ud800',
  '\udfff',
];

function randomString(rnd: () => number): string {
  let s = '';
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) s += STRING_PARTS[Math.floor(rnd() * STRING_PARTS.length)];
  return s;
}

function randomNumber(rnd: () => number): number {
  switch (Math.floor(rnd() * 6)) {
    case 0:
      return Math.floor(rnd() * 1000) - 500;
    case 1:
      return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
    case 2:
      return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 600 - 300);
    case 3:
      return -0;
    case 4:
      return Number.MIN_VALUE * Math.floor(rnd() * 100);
    default:
      return Math.round(rnd() * 1e6) / 1e3;
  }
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 4 || r < 0.45) {
    const k = Math.floor(rnd() * 6);
    if (k === 0) return randomString(rnd);
    if (k === 1) return [true, false, null][Math.floor(rnd() * 3)];
    return randomNumber(rnd);
  }
  const n = Math.floor(rnd() * 5);
  if (r < 0.75) return Array.from({ length: n }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[randomString(rnd)] = randomValue(rnd, depth + 1);
  return o;
}

/** Writes `v` as JSON with random whitespace, random \u escapes and random number spellings. */
function randomText(v: unknown, rnd: () => number): string {
  const ws = (): string => (rnd() < 0.3 ? [' ', '\n', '\t', '\r\n  '][Math.floor(rnd() * 4)] : '');
  const str = (s: string): string => {
    let out = '"';
    for (const ch of s) {
      const code = ch.charCodeAt(0);
      if (ch === '"' || ch === '\\' || code < 0x20 || (code >= 0xd800 && code < 0xe000) || rnd() < 0.1) {
        for (let i = 0; i < ch.length; i++) {
          const unit = ch.charCodeAt(i).toString(16).padStart(4, '0');
          out += `\\u${rnd() < 0.5 ? unit : unit.toUpperCase()}`;
        }
      } else if (ch === '/' && rnd() < 0.5) {
        out += '\\/';
      } else {
        out += ch;
      }
    }
    return `${out}"`;
  };
  const num = (n: number): string => {
    if (Object.is(n, -0)) return '-0';
    const s = JSON.stringify(n);
    if (rnd() < 0.3) return n.toExponential().replace('e+', rnd() < 0.5 ? 'E+' : 'e');
    return s;
  };
  const write = (x: unknown): string => {
    if (typeof x === 'string') return str(x);
    if (typeof x === 'number') return num(x);
    if (x === null || typeof x === 'boolean') return String(x);
    if (Array.isArray(x)) return `[${ws()}${x.map((e) => `${write(e)}${ws()}`).join(`,${ws()}`)}]`;
    const entries = Object.entries(x as Record<string, unknown>);
    return `{${ws()}${entries.map(([k, e]) => `${str(k)}${ws()}:${ws()}${write(e)}${ws()}`).join(`,${ws()}`)}}`;
  };
  return `${ws()}${write(v)}${ws()}`;
}

describe('datasets/json-tokenizer', () => {
  it('reads scalars and containers as JSON.parse does', () => {
    const texts = [
      '0',
      '-0',
      '1.5',
      '-2.5e-3',
      '1E+2',
      '1e999',
      '-1e999',
      '5e-324',
      '1e-400',
      '123456789012345678901234567890',
      '"a"',
      '""',
      'true',
      'false',
      'null',
      '[]',
      '{}',
      '[[],{}]',
      ' {"a" : [1, {"b": null}] , "c": "d"} ',
      '{"a":1,"a":2}',
      '{"__proto__": 1}',
      '"\\u00e9\\ud83d\\ude00\\ud800x\\/\\b\\f\\n\\r\\t\\"\\\\"',
    ];
    for (const text of texts) {
      const expected = JSON.parse(text);
      expect(parsed([Buffer.from(text)]), text).to.deep.equal(expected);
      expect(parsed(oneByteChunks(Buffer.from(text))), text).to.deep.equal(expected);
    }
  });

  it('gives the same values as JSON.parse for random documents, in any chunking (randomised)', () => {
    const rnd = random(1234);
    for (let k = 0; k < 300; k++) {
      const value = randomValue(rnd, 0);
      const text = randomText(value, rnd);
      const bytes = Buffer.from(text, 'utf8');
      const expected = JSON.parse(text);
      expect(parsed([bytes]), text).to.deep.equal(expected);
      expect(parsed(oneByteChunks(bytes)), text).to.deep.equal(expected);
      expect(parsed(randomChunks(bytes, rnd, 7)), text).to.deep.equal(expected);
    }
  });

  it('reads numbers exactly as Number() does (randomised)', () => {
    const rnd = random(99);
    const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
    for (let k = 0; k < 3000; k++) {
      let text = rnd() < 0.3 ? '-' : '';
      const intDigits = digits(1 + Math.floor(rnd() * 25));
      text += intDigits.replace(/^0+(?=.)/, '');
      if (rnd() < 0.6) text += `.${digits(1 + Math.floor(rnd() * 25))}`;
      if (rnd() < 0.5)
        text += `${rnd() < 0.5 ? 'e' : 'E'}${['', '+', '-'][Math.floor(rnd() * 3)]}${digits(1 + Math.floor(rnd() * 3))}`;
      const expected = Number(text);
      expect(JSON.parse(text)).to.equal(expected);
      const got = parsed([Buffer.from(`[${text}]`)]) as number[];
      expect(Object.is(got[0], expected), `${text}: ${got[0]} vs ${expected}`).to.equal(true);
      const split = parsed(randomChunks(Buffer.from(`[${text}]`), rnd, 4)) as number[];
      expect(Object.is(split[0], expected), text).to.equal(true);
    }
  });

  it('decodes UTF-8 split anywhere, and invalid UTF-8 as Buffer#toString does', () => {
    const text = '["é€😀日本", "a\\u00e9b😀", {"ключ": "значение"}]';
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(parsed([bytes.subarray(0, cut), bytes.subarray(cut)])).to.deep.equal(JSON.parse(text));
    }
    const invalid = Buffer.concat([
      Buffer.from('["a'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('\\n'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('"]'),
    ]);
    expect(parsed(oneByteChunks(invalid))).to.deep.equal(JSON.parse(invalid.toString('utf8')));
  });

  it('skips a leading byte-order mark, even split', () => {
    const bytes = Buffer.from('\ufeff[1]', 'utf8');
    expect(parsed(oneByteChunks(bytes))).to.deep.equal([1]);
    expect(syntaxError([Buffer.from([0xef, 0xbb])]).offset).to.equal(0);
    expect(syntaxError([Buffer.from('\ufeff\ufeff[1]', 'utf8')]).offset).to.equal(3);
  });

  it('reports invalid JSON at the byte offset JSON.parse gives, in any chunking', () => {
    const texts = [
      'xyz',
      '{"a" 1}',
      '{1}',
      '[1 2]',
      '{"a":1 "b"}',
      '-',
      '[-a]',
      '1.',
      '[1.]',
      '1e',
      '[1e+]',
      '01',
      '[-01]',
      '"a\\x"',
      '"a\u0001"',
      '"a\ttab"',
      '"abc',
      '[1,]',
      '{"a":1,}',
      'tru',
      'nul',
      'nulx',
      '[truex]',
      '[1]x',
      '[1] [2]',
      '',
      '  ',
      '{"a":"\\u12g4"}',
      '{"a":+1}',
      '[.5]',
      '{"a":1}}',
      '[1,2',
      '{"data":[1,2],',
      "{'a':1}",
      '[NaN]',
      '[Infinity]',
      '[1] // c',
      '{"a":1 /* c */}',
      '[0x10]',
      '"\\u12"',
      '["a"b]',
      '{"a"}',
      '{,}',
      '[,1]',
      ']',
      '}',
      '[1}',
      '{"a":1]',
      '1 2',
      '"\\',
      '"\\u',
      '[1e5.5]',
      '[1.5e]',
      '[--1]',
      '[1-2]',
    ];
    const rnd = random(7);
    for (const text of texts) {
      const bytes = Buffer.from(text);
      const whole = syntaxError([bytes]);
      const position = jsonParsePosition(text);
      if (position !== undefined) expect(whole.offset, `${text}: ${whole.message}`).to.equal(position);
      expect(whole.message).to.match(/in JSON at byte offset \d+$/);
      for (const pieces of [oneByteChunks(bytes), randomChunks(bytes, rnd, 3)]) {
        const split = syntaxError(pieces);
        expect([split.message, split.offset], text).to.deep.equal([whole.message, whole.offset]);
      }
    }
  });

  it('uses V8-like messages', () => {
    const message = (text: string): string => syntaxError([Buffer.from(text)]).message;
    expect(message('[1 2]')).to.equal("Expected ',' or ']' after array element in JSON at byte offset 3");
    expect(message('{"a":1}x')).to.equal('Unexpected non-whitespace character after JSON in JSON at byte offset 7');
    expect(message('[1,')).to.equal('Unexpected end of JSON input in JSON at byte offset 3');
    expect(message('"ab')).to.equal('Unterminated string in JSON at byte offset 3');
    expect(message('[x]')).to.equal("Unexpected token 'x' in JSON at byte offset 1");
    expect(message('[\u0001]')).to.equal('Unexpected byte 0x01 in JSON at byte offset 1');
    expect(message('"\u00e9\u0002"')).to.equal('Bad control character in string literal in JSON at byte offset 3');
  });

  it('agrees with JSON.parse on validity of mutated and truncated documents (randomised)', () => {
    const rnd = random(4242);
    const alphabet = '{}[]:,"\\ \n0123456789-+.eEtrufalsn/ux\u0001';
    let invalid = 0;
    for (let k = 0; k < 1500; k++) {
      const original = randomText(randomValue(rnd, 0), rnd);
      let text = original;
      const edits = 1 + Math.floor(rnd() * 2);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (text.length + 1));
        const op = Math.floor(rnd() * 3);
        const ch = alphabet[Math.floor(rnd() * alphabet.length)];
        if (op === 0) text = text.slice(0, at) + ch + text.slice(at);
        else if (op === 1) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at);
      }
      const bytes = Buffer.from(text, 'utf8');
      const valid = isValidJson(text);
      let ok = true;
      try {
        tokenize(randomChunks(bytes, rnd, 5));
      } catch (err) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        ok = false;
      }
      expect(ok, JSON.stringify(text)).to.equal(valid);
      if (!valid) invalid++;
    }
    expect(invalid).to.be.greaterThan(300);
  });

  it('validates skipped containers without reporting them', () => {
    const events: string[] = [];
    const handler: JsonHandler = {
      startObject: () => (events.push('{'), true),
      endObject: () => void events.push('}'),
      startArray: () => (events.push('['), events.length > 1 ? false : true),
      endArray: () => void events.push(']'),
      key: (k) => void events.push(`key ${k}`),
      value: (v) => void events.push(`value ${JSON.stringify(v)}`),
    };
    tokenize([Buffer.from('[1, [2, {"a": [3]}, "x"], {"b": 4}]')], handler);
    expect(events).to.deep.equal(['[', 'value 1', '[', '{', 'key b', 'value 4', '}', ']']);
    const skipAll: JsonHandler = { ...handler, startArray: () => false, startObject: () => false };
    expect(() => tokenize([Buffer.from('[1, [2}]')], skipAll)).to.throw(JsonSyntaxError, /Expected ',' or ']'/);
  });

  it('handles very deep nesting without recursion', () => {
    const depth = 200_000;
    const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    let opened = 0;
    const handler: JsonHandler = {
      startObject: () => true,
      endObject: () => undefined,
      startArray: () => (opened++, true),
      endArray: () => undefined,
      key: () => undefined,
      value: () => undefined,
    };
    tokenize(randomChunks(Buffer.from(text), random(3), 1000), handler);
    expect(opened).to.equal(depth);
    const unbalanced = `${'['.repeat(depth)}{${']'.repeat(depth)}`;
    expect(syntaxError([Buffer.from(unbalanced)]).offset).to.equal(depth + 1);
  });
});
