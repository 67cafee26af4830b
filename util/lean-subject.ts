/**
 * A multicast Observable whose `next` makes no garbage, built on rxjs's public API only (an
 * `Observable` with its own subscriber list). Node loads rxjs's CommonJS build, written for ES5:
 * each `Subject.next` allocates a closure (its error context), an iterator and one result object
 * per observer. The frames of a simulated session pass through such a stream ~5 times each (the
 * link's frames, the module's and the host's traffic, the host's statuses): about a tenth of the
 * bytes a session allocates (docs/performance.md, target 4, ninth round).
 *
 * It behaves as rxjs's `Subject` for what the service uses (next, error, complete, subscribe,
 * pipe, `observed`): values go to the subscribers there were when `next` began (the list is
 * copied on every change, never edited, so a subscriber added or removed by an observer takes
 * effect from the next value, as in Subject); after error/complete nothing more is sent and a late
 * subscriber gets the error or the completion at once. It has no `unsubscribe()` of its own (the
 * service never closes a subject that way). test/util/lean-subject.test.ts runs it beside rxjs's
 * Subject on random sequences of values, subscriptions, unsubscriptions, errors and completion.
 */
import { Observable, type Observer, type Subscriber } from 'rxjs';

type Ending = { kind: 'complete' } | { kind: 'error'; error: unknown };

export class LeanSubject<T> extends Observable<T> implements Observer<T> {
  #subscribers: readonly Subscriber<T>[] = [];
  #ending: Ending | undefined;

  constructor() {
    super((subscriber) => {
      const ending = this.#ending;
      if (ending) {
        if (ending.kind === 'error') subscriber.error(ending.error);
        else subscriber.complete();
        return;
      }
      this.#subscribers = [...this.#subscribers, subscriber];
      return () => {
        this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
      };
    });
  }

  /** Whether anyone listens (as Subject's `observed`). */
  get observed(): boolean {
    return this.#subscribers.length > 0;
  }

  next(value: T): void {
    if (this.#ending) return;
    const list = this.#subscribers;
    for (let i = 0; i < list.length; i++) (list[i] as Subscriber<T>).next(value);
  }

  error(error: unknown): void {
    this.#end({ kind: 'error', error });
  }

  complete(): void {
    this.#end({ kind: 'complete' });
  }

  /** The stream without next/error/complete (as Subject's `asObservable`). */
  asObservable(): Observable<T> {
    return new Observable<T>((subscriber) => this.subscribe(subscriber));
  }

  #end(ending: Ending): void {
    if (this.#ending) return;
    this.#ending = ending;
    const list = this.#subscribers;
    this.#subscribers = [];
    for (const s of list) {
      if (ending.kind === 'error') s.error(ending.error);
      else s.complete();
    }
  }
}
