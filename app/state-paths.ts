/**
 * What the runner and the command options need of the dashboard without loading it: the default
 * port and the state paths. The dashboard server itself (app/dashboard.ts: ws, @statelyai/inspect)
 * loads only with --inspect (start-up, issue 12 target 3).
 */

export const DEFAULT_INSPECT_PORT = 5173;

/** Leaf state paths of an XState state value: { a: { b: 'c' }, d: 'e' } -> ['a.b.c', 'd.e']. */
export function activeStates(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (typeof value !== 'object' || value === null) return prefix ? [prefix] : [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(...activeStates(v, prefix ? `${prefix}.${k}` : k));
  return out.length > 0 ? out : prefix ? [prefix] : [];
}
