/**
 * Reading a configuration file as plain JSON, with the limits a hostile or broken file must not
 * get past: its size, its nesting depth (checked on the text before JSON.parse, so 100,000 nested
 * brackets are one clear error instead of a stack overflow somewhere later), and keys that would
 * reach Object.prototype when merged (`__proto__`, `constructor`, `prototype`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Far above any real station file (the reference's are ~2 KiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Our deepest key is stations.N.evse.schedule.schedule_tuples.N.schedules.N.power (9 levels). */
export const MAX_CONFIG_DEPTH = 32;
/** Keys that change an object's prototype or shadow its constructor when merged. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest bracket nesting of a JSON text (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The first forbidden key, as a dotted path; the walk is bounded by the depth checked before. */
export function forbiddenKeyPath(v: Json, path: string[] = []): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = forbiddenKeyPath(v[i] as Json, [...path, String(i)]);
      if (hit) return hit;
    }
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) return [...path, k].join('.');
      const hit = forbiddenKeyPath(v[k] as Json, [...path, k]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Parses `text` read from `where`, enforcing the size, depth and key limits. */
export function parseJsonText(text: string, where: string): Json {
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(`${where}: file too large (${text.length} characters, at most ${MAX_CONFIG_BYTES})`);
  const depth = jsonDepth(text);
  if (depth > MAX_CONFIG_DEPTH) throw new ConfigError(`${where}: (top level): nested ${depth} levels deep, at most ${MAX_CONFIG_DEPTH} allowed`);
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const bad = forbiddenKeyPath(value);
  if (bad !== undefined) throw new ConfigError(`${where}: ${bad}: key not allowed (${[...FORBIDDEN_KEYS].join(', ')} are reserved)`);
  return value;
}

export function parseJsonFile(path: string): Json {
  if (!existsSync(path)) throw new ConfigError(`${path}: file not found`);
  const size = statSync(path).size;
  if (size > MAX_CONFIG_BYTES) throw new ConfigError(`${path}: file too large (${size} bytes, at most ${MAX_CONFIG_BYTES})`);
  return parseJsonText(readFileSync(path, 'utf8'), path);
}

/** `over` on top of `base`: objects merge key by key, everything else (arrays too) replaces. */
export function deepMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = Object.hasOwn(base, k) ? deepMerge(base[k] as Json, v) : v;
  return out;
}
