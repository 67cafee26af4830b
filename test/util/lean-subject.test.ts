/**
 * LeanSubject (util/lean-subject.ts) against rxjs's Subject: the same random sequences of values,
 * subscriptions, unsubscriptions (also from inside an observer, of itself or another), values
 * sent from inside an observer, completion and errors give the same log, including what throws.
 * (LeanSubject has no `unsubscribe()` of its own: the service never closes a subject that way.)
 */
import fc from 'fast-check';
import { map, type Observable, type Observer, Subject, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LeanSubject } from '../../util/lean-subject.js';

type Op =
  | { k: 'next'; v: number }
  | { k: 'subscribe'; react: 'none' | 'unsubscribeSelf' | 'unsubscribeFirst' | 'subscribeAnother' | 'nextAgain' }
  | { k: 'unsubscribe'; i: number }
  | { k: 'complete' }
  | { k: 'error' };

/** What the service uses of a subject, and what the two are compared on. */
type SubjectLike = Observable<number> & Observer<number> & { readonly observed: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('next' as const), v: fc.integer({ min: 0, max: 99 }) }), weight: 6 },
  {
    arbitrary: fc.record({ k: fc.constant('subscribe' as const), react: fc.constantFrom('none', 'unsubscribeSelf', 'unsubscribeFirst', 'subscribeAnother', 'nextAgain') as fc.Arbitrary<'none'> }),
    weight: 4,
  },
  { arbitrary: fc.record({ k: fc.constant('unsubscribe' as const), i: fc.nat(9) }), weight: 2 },
  { arbitrary: fc.constant({ k: 'complete' as const }), weight: 1 },
  { arbitrary: fc.constant({ k: 'error' as const }), weight: 1 },
);

function run(make: () => SubjectLike, ops: Op[]): string[] {
  const s = make();
  const log: string[] = [];
  const subs: Subscription[] = [];
  let n = 0;
  const subscribe = (react: Extract<Op, { k: 'subscribe' }>['react']): void => {
    const id = n++;
    let own: Subscription | undefined;
    own = s.subscribe({
      next: (v) => {
        log.push(`${id} got ${v}`);
        if (react === 'unsubscribeSelf') own?.unsubscribe();
        else if (react === 'unsubscribeFirst') subs[0]?.unsubscribe();
        else if (react === 'subscribeAnother' && v % 3 === 0 && n < 30) subscribe('none');
        else if (react === 'nextAgain' && v < 1000) s.next(v + 1000);
      },
      error: (e) => log.push(`${id} error ${String(e)}`),
      complete: () => log.push(`${id} complete`),
    });
    subs.push(own);
  };
  for (const o of ops) {
    try {
      if (o.k === 'next') s.next(o.v);
      else if (o.k === 'subscribe') subscribe(o.react);
      else if (o.k === 'unsubscribe') subs[o.i]?.unsubscribe();
      else if (o.k === 'complete') s.complete();
      else s.error('boom');
    } catch (e) {
      log.push(`${o.k} threw ${(e as Error).name}`);
    }
    log.push(`observed ${s.observed}`);
  }
  return log;
}

describe('LeanSubject (issue 12 target 4, ninth round)', () => {
  it('logs what rxjs Subject logs for the same operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        expect(run(() => new LeanSubject<number>(), ops)).toEqual(run(() => new Subject<number>(), ops));
      }),
      { numRuns: 400, seed: Number(process.env.FC_SEED ?? 20261203) },
    );
  });
  it('works with rxjs operators and asObservable', () => {
    const s = new LeanSubject<number>();
    const seen: number[] = [];
    s.asObservable()
      .pipe(map((v) => v * 2))
      .subscribe((v) => seen.push(v));
    s.next(1);
    s.next(2);
    s.complete();
    s.next(3);
    expect(seen).toEqual([2, 4]);
    expect(s.observed).toBe(false);
  });
});
