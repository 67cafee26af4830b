/**
 * An rxjs `Subject` whose `next` makes no garbage. Node loads rxjs's CommonJS build, written for
 * ES5: each `Subject.next` allocates a closure (its error context), an iterator and one result
 * object per observer. The frames of a simulated session pass through a Subject ~5 times each
 * (the link's frames, the module's and the host's traffic, the host's statuses): about a tenth of
 * the bytes a session allocates (docs/performance.md, target 4, ninth round).
 *
 * `next` here does what rxjs 7.8's does, in the same order: throw when unsubscribed, nothing
 * once stopped, then each observer of the list taken when the first value after a change of
 * subscribers arrived (rxjs copies that list on change, never edits it, so an index loop visits
 * what its iterator did). With rxjs's deprecated synchronous error handling on, rxjs's own `next`
 * runs. Everything else is the Subject's. test/util/lean-subject.test.ts runs both on the same
 * sequences of values, subscriptions, unsubscriptions, errors and completion.
 */
import { config, type Observer, ObjectUnsubscribedError, Subject } from 'rxjs';

/** The fields of rxjs 7.8's Subject that its `next` reads (`currentObservers` is private in its types). */
interface SubjectState<T> {
  currentObservers: Observer<T>[] | null;
  observers: Observer<T>[];
}

export class LeanSubject<T> extends Subject<T> {
  override next(value: T): void {
    if (config.useDeprecatedSynchronousErrorHandling) {
      super.next(value);
      return;
    }
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    const state = this as unknown as SubjectState<T>;
    let list = state.currentObservers;
    if (!list) list = state.currentObservers = Array.from(state.observers);
    for (let i = 0; i < list.length; i++) (list[i] as Observer<T>).next(value);
  }
}
