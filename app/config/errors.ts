/** Configuration errors: `<file or variable>: <key>: <what was expected>`, exit code EXIT.config. */
import type * as z from 'zod';
import { CliError, EXIT } from '../exit.js';

export class ConfigError extends CliError {
  constructor(message: string) {
    super(message, EXIT.config);
    this.name = 'ConfigError';
  }
}

export function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const bound = (origin: string, inclusive: boolean | undefined, atLeast: boolean): string =>
  origin === 'array' || origin === 'string' ? (atLeast ? 'at least' : 'at most') : atLeast ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
const unitOf = (origin: string): string => (origin === 'array' ? ' entries' : origin === 'string' ? ' characters' : '');

/** One zod issue as "expected ..., got ..." in the words the error line uses. */
export function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describeInput(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeInput(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'too_small':
      return `expected ${bound(issue.origin, issue.inclusive, true)} ${String(issue.minimum)}${unitOf(issue.origin)}, got ${describeInput(issue.input)}`;
    case 'too_big':
      return `expected ${bound(issue.origin, issue.inclusive, false)} ${String(issue.maximum)}${unitOf(issue.origin)}, got ${describeInput(issue.input)}`;
    case 'invalid_union':
      return `expected one of the allowed names or numbers, got ${describeInput(issue.input)}`;
    default:
      return `${issue.message}${issue.input !== undefined ? `, got ${describeInput(issue.input)}` : ''}`;
  }
}

/** Throws the first issue of a failed parse as a ConfigError naming `origin` and the key. */
export function throwFirstIssue(error: z.ZodError, originOf: (key: string) => string, keyPrefix: string): never {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const key = issue.path.map(String).join('.');
  throw new ConfigError(`${originOf(key)}: ${keyPrefix}${key || '(top level)'}: ${issueText(issue)}`);
}
