'use strict';

const { CallError, cancelledError, abortReason, callSignal, callHighWaterMark } = require('./errors');

const { openPending, resolvePending, rejectPending } = require('./pending');

const kDefaultHighWater = 1 << 20;

/**
 * The sink a Subscription hands its transport: one object with prototype methods, so a
 * subscription that stays open for hours holds no closures for it.
 */
class SubscriptionSink {
  constructor(sub) {
    this._sub = sub;
  }

  /** A subscription ends at call.completed: an end of stream before it is a failure. */
  get awaitsCompletion() {
    return true;
  }

  outputs(items, bytes) {
    this._sub._push(items, bytes);
  }

  output(item, bytes) {
    this._sub._pushOne(item, bytes);
  }

  answered() {
    this._sub._end(null);
  }

  completed() {
    this._sub._end(null);
  }

  error(err) {
    this._sub._end(err);
  }

  rawOpen() {
    this._sub._end(new CallError('unexpected raw carriage', { code: 'INTERNAL' }));
  }

  stdout() {}

  stderr() {}

  control() {}

  exit() {
    this._sub._end(null);
  }

  drain() {}
}

/**
 * The outputs of a subscription as an async iterable, with backpressure: while more than
 * `highWaterMark` bytes of outputs wait for the consumer, the transport is paused — the engine
 * stops reading the daemon's socket (or the client stops reading the server's stream) — and it
 * resumes once the consumer caught up. The iterator ends at `call.completed` and throws the
 * CallError of a `call.error`, after every output that came before it. Leaving a `for await`
 * early (break, return, throw) cancels the call.
 *
 * `completed` settles when the call ends: with the terminal output (`{exitCode}` of run and exec,
 * which the iterator does not yield when `terminal` is "completed") or undefined; it rejects with
 * the call's CallError, or a CANCELLED one when the consumer gave up.
 *
 * @template T
 * @implements {AsyncIterableIterator<T>}
 */
class Subscription {
  /**
   * @param {(sink: object) => object} start starts the call with a sink; returns its control
   * @param {{signal?: AbortSignal, highWaterMark?: number, terminal?: 'yield'|'completed'}} [options]
   * @throws {TypeError} when `signal` is not an AbortSignal or `highWaterMark` not a positive
   * number (the call is not started)
   */
  constructor(start, options = {}) {
    const signal = callSignal(options.signal);
    this._highWater = callHighWaterMark(options.highWaterMark) ?? kDefaultHighWater;
    this._keepTerminal = options.terminal === 'completed';
    this._first = options.first ?? null; // sees the first output; false drops it
    this._batches = []; // arrays of outputs, consumed from _index of the first
    this._sizes = []; // bytes of each batch
    this._index = 0;
    this._queuedBytes = 0;
    this._paused = false;
    this._ended = false; // no more outputs will arrive
    this._error = null; // thrown once the queue is drained
    this._slot = -1; // ≥ 0 while a next() is pending: the slot of its wait (pending.js)
    this._done = false; // the iterator finished
    this._result = undefined;
    // `completed` is made when first read (many consumers never read it); until then the outcome
    // waits here: _outcome 0 running, 1 resolved (with _result), 2 rejected (with _failure).
    this._completed = null;
    this._resolveCompleted = null;
    this._rejectCompleted = null;
    this._outcome = 0;
    this._failure = null;
    this._signal = signal;
    this._onAbort = null;
    this._ctl = null;
    if (this._signal) {
      if (this._signal.aborted) {
        this._abort();
        return;
      }
      this._onAbort = () => this._abort();
      this._signal.addEventListener('abort', this._onAbort, { once: true });
    }
    try {
      this._ctl = start(new SubscriptionSink(this));
    } catch (err) {
      // A call that cannot start (closed client, input JSON cannot encode) fails like any other.
      this._end(err);
    }
  }

  /**
   * Settles when the call ends (see the class comment); the same promise on every read.
   * @type {Promise<any>}
   */
  get completed() {
    if (this._completed === null) {
      if (this._outcome === 1) {
        this._completed = Promise.resolve(this._result);
      } else if (this._outcome === 2) {
        this._completed = Promise.reject(this._failure);
        this._failure = null;
      } else {
        this._completed = new Promise((resolve, reject) => {
          this._resolveCompleted = resolve;
          this._rejectCompleted = reject;
        });
      }
      this._completed.catch(() => {}); // an unobserved rejection is not an unhandled one
    }
    return this._completed;
  }

  _settleCompleted(err) {
    if (this._completed === null) {
      this._outcome = err ? 2 : 1;
      this._failure = err;
      return;
    }
    if (err) {
      this._rejectCompleted(err);
    } else {
      this._resolveCompleted(this._result);
    }
    this._resolveCompleted = null;
    this._rejectCompleted = null;
  }

  _push(items, bytes) {
    if (this._ended) return;
    if (this._first !== null && items.length > 0 && !this._passFirst(items[0])) items.shift();
    if (this._keepTerminal && items.length > 0 && this._keptAsResult(items[items.length - 1])) items.pop();
    if (items.length === 0) return;
    if (this._slot >= 0 && this._batches.length === 0) {
      if (items.length > 1) {
        this._enqueue(items, bytes);
        this._index = 1; // items[0] goes to the waiting next()
      }
      this._hand(items[0]);
      return;
    }
    this._enqueue(items, bytes);
  }

  // One output, delivered without a batch array (a follow's line): no array is made unless it has
  // to wait for the consumer.
  _pushOne(item, bytes) {
    if (this._ended) return;
    if (this._first !== null && !this._passFirst(item)) return;
    if (this._keepTerminal && this._keptAsResult(item)) return;
    if (this._slot >= 0 && this._batches.length === 0) {
      this._hand(item);
      return;
    }
    this._enqueue([item], bytes);
  }

  // Shows the first output to the `first` option; false when it is to be dropped.
  _passFirst(item) {
    const first = this._first;
    this._first = null;
    return first(item, this);
  }

  // With terminal "completed": the terminal output becomes `completed`'s value, not an item.
  _keptAsResult(item) {
    if (item === null || typeof item !== 'object' || item.terminal !== true) return false;
    const { terminal, ...result } = item;
    this._result = result;
    return true;
  }

  // Settles the pending next() with `item`.
  _hand(item) {
    const slot = this._slot;
    this._slot = -1;
    resolvePending(slot, { value: item, done: false });
  }

  // Queues a batch for the consumer; pauses the transport above the high-water mark.
  _enqueue(items, bytes) {
    this._batches.push(items);
    this._sizes.push(bytes);
    this._queuedBytes += bytes;
    this._checkPause();
  }

  _checkPause() {
    if (!this._paused && this._queuedBytes > this._highWater && this._ctl) {
      this._paused = true;
      this._ctl.pause();
    }
  }

  _end(err) {
    if (this._ended) return;
    this._ended = true;
    this._detachSignal();
    if (err) this._error = err;
    this._settleCompleted(err);
    if (this._slot >= 0 && this._batches.length === 0) this._finish();
  }

  _abort() {
    const reason = abortReason(this._signal);
    this._giveUp(reason);
  }

  // The consumer went away: cancel the call, fail `completed`, end the iterator — quietly for
  // return()/cancel(), with `reason` thrown by the next next() for an abort.
  _giveUp(reason, quiet = false) {
    const wasEnded = this._ended;
    this._batches = [];
    this._sizes = [];
    this._queuedBytes = 0;
    this._error = quiet ? null : reason;
    if (!wasEnded) {
      this._ended = true;
      this._detachSignal();
      if (this._ctl) this._ctl.cancel();
      this._settleCompleted(reason);
    }
    if (quiet) this._done = true;
    if (this._slot >= 0) this._finish();
  }

  _detachSignal() {
    if (this._onAbort) {
      this._signal.removeEventListener('abort', this._onAbort);
      this._onAbort = null;
    }
  }

  // Settles the pending next() at the end of the queue.
  _finish() {
    const slot = this._slot;
    this._slot = -1;
    this._done = true;
    if (this._error) {
      const err = this._error;
      this._error = null;
      rejectPending(slot, err);
    } else {
      resolvePending(slot, { value: undefined, done: true });
    }
  }

  _take() {
    const batch = this._batches[0];
    const value = batch[this._index++];
    if (this._index === batch.length) {
      this._batches.shift();
      this._queuedBytes -= this._sizes.shift();
      this._index = 0;
      if (this._paused && this._queuedBytes <= this._highWater / 2 && this._ctl) {
        this._paused = false;
        this._ctl.resume();
      }
    }
    return value;
  }

  /** @returns {Promise<IteratorResult<T>>} */
  next() {
    if (this._batches.length > 0) return Promise.resolve({ value: this._take(), done: false });
    if (this._done) return Promise.resolve({ value: undefined, done: true });
    if (this._slot >= 0) {
      return Promise.reject(new Error('next() called while a previous next() is pending'));
    }
    // A promise without resolving functions on the JS heap (pending.js).
    const promise = openPending(this);
    if (this._ended) this._finish();
    return promise;
  }

  /**
   * Stops the subscription: cancels the call if it still runs (`for await` calls this on break).
   * @returns {Promise<IteratorResult<T>>}
   */
  return(value) {
    this._giveUp(cancelledError(), true);
    return Promise.resolve({ value, done: true });
  }

  /** @returns {Promise<IteratorResult<T>>} */
  throw(err) {
    this._giveUp(cancelledError(), true);
    return Promise.reject(err);
  }

  /** Cancels the call; `completed` rejects with a CANCELLED CallError. */
  cancel() {
    this._giveUp(cancelledError(), true);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

module.exports = { Subscription };
