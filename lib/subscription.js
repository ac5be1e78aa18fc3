'use strict';

const { CallError, cancelledError, abortReason } = require('./errors');

const kDefaultHighWater = 1 << 20;

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
   */
  constructor(start, options = {}) {
    this._highWater = options.highWaterMark ?? kDefaultHighWater;
    this._keepTerminal = options.terminal === 'completed';
    this._first = options.first ?? null; // sees the first output; false drops it
    this._batches = []; // arrays of outputs, consumed from _index of the first
    this._sizes = []; // bytes of each batch
    this._index = 0;
    this._queuedBytes = 0;
    this._paused = false;
    this._ended = false; // no more outputs will arrive
    this._error = null; // thrown once the queue is drained
    this._waiting = null; // {resolve, reject} of a pending next()
    this._done = false; // the iterator finished
    this._result = undefined;
    this._signal = options.signal;
    /** @type {Promise<any>} */
    this.completed = new Promise((resolve, reject) => {
      this._resolveCompleted = resolve;
      this._rejectCompleted = reject;
    });
    this.completed.catch(() => {}); // an unobserved rejection is not an unhandled one
    if (this._signal) {
      if (this._signal.aborted) {
        this._ctl = null;
        this._abort();
        return;
      }
      this._onAbort = () => this._abort();
      this._signal.addEventListener('abort', this._onAbort, { once: true });
    }
    this._ctl = null;
    try {
      this._ctl = start(this._sink());
    } catch (err) {
      // A call that cannot start (closed client, input JSON cannot encode) fails like any other.
      this._end(err);
    }
  }

  _sink() {
    return {
      outputs: (items, bytes) => this._push(items, bytes),
      answered: () => this._end(null),
      completed: () => this._end(null),
      error: (err) => this._end(err),
      rawOpen: () => this._end(new CallError('unexpected raw carriage', { code: 'INTERNAL' })),
      stdout() {},
      stderr() {},
      control() {},
      exit: () => this._end(null),
      drain() {},
    };
  }

  _push(items, bytes) {
    if (this._ended) return;
    if (this._first !== null && items.length > 0) {
      const first = this._first;
      this._first = null;
      if (!first(items[0], this)) items.shift();
    }
    if (this._keepTerminal && items.length > 0) {
      const last = items[items.length - 1];
      if (last !== null && typeof last === 'object' && last.terminal === true) {
        items.pop();
        const { terminal, ...result } = last;
        this._result = result;
      }
    }
    if (items.length === 0) return;
    if (this._waiting !== null && this._batches.length === 0) {
      const waiting = this._waiting;
      this._waiting = null;
      if (items.length > 1) {
        this._batches.push(items);
        this._sizes.push(bytes);
        this._index = 1;
        this._queuedBytes += bytes;
        this._checkPause();
      }
      waiting.resolve({ value: items[0], done: false });
      return;
    }
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
    if (err) {
      this._error = err;
      this._rejectCompleted(err);
    } else {
      this._resolveCompleted(this._result);
    }
    if (this._waiting !== null && this._batches.length === 0) this._finish();
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
      this._rejectCompleted(reason);
    }
    if (quiet) this._done = true;
    if (this._waiting !== null) this._finish();
  }

  _detachSignal() {
    if (this._onAbort) {
      this._signal.removeEventListener('abort', this._onAbort);
      this._onAbort = null;
    }
  }

  // Settles the pending next() at the end of the queue.
  _finish() {
    const waiting = this._waiting;
    this._waiting = null;
    this._done = true;
    if (this._error) {
      const err = this._error;
      this._error = null;
      waiting.reject(err);
    } else {
      waiting.resolve({ value: undefined, done: true });
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
    if (this._waiting !== null) {
      return Promise.reject(new Error('next() called while a previous next() is pending'));
    }
    return new Promise((resolve, reject) => {
      this._waiting = { resolve, reject };
      if (this._ended) this._finish();
    });
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
