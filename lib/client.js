'use strict';

const { CallError, abortReason, callSignal } = require('./errors');
const { Subscription } = require('./subscription');
const { RawStream } = require('./raw-stream');
const { Containers, Images, System } = require('./typed');

// The sink Client#_open gives the transport: passes everything on to the caller's sink and drops
// the call from `live` at its terminal event. Prototype methods rather than closures: a follow
// that stays open for hours holds one small object here.
class TrackedSink {
  constructor(live, sink) {
    this._live = live;
    this._sink = sink;
    this._ended = false;
  }

  _end() {
    this._ended = true;
    this._live.delete(this);
  }

  /** True when the caller's sink ends only at call.completed (a subscription). */
  get awaitsCompletion() {
    return this._sink.awaitsCompletion === true;
  }

  outputs(items, bytes) {
    this._sink.outputs(items, bytes);
  }

  output(item, bytes) {
    this._sink.output(item, bytes);
  }

  answered() {
    this._end();
    this._sink.answered();
  }

  completed() {
    this._end();
    this._sink.completed();
  }

  error(err) {
    if (this._ended) return;
    this._end();
    this._sink.error(err);
  }

  rawOpen(tty) {
    this._sink.rawOpen(tty);
  }

  stdout(buf) {
    this._sink.stdout(buf);
  }

  stderr(buf) {
    this._sink.stderr(buf);
  }

  control(msg) {
    this._sink.control(msg);
  }

  exit(code) {
    this._end();
    this._sink.exit(code);
  }

  drain() {
    this._sink.drain();
  }
}

// The control Client#_open returns: the transport's, with cancel() also forgetting the call.
class TrackedControl {
  constructor(tracked, ctl) {
    this._tracked = tracked;
    this._ctl = ctl;
  }

  write(bytes) {
    return this._ctl.write(bytes);
  }

  endInput() {
    return this._ctl.endInput();
  }

  control(message) {
    return this._ctl.control(message);
  }

  pause() {
    return this._ctl.pause();
  }

  resume() {
    return this._ctl.resume();
  }

  cancel() {
    if (!this._tracked._ended) this._tracked._end();
    return this._ctl.cancel();
  }
}

/**
 * What the in-process Engine and the unix client have in common: the protocol level (call,
 * subscribe, open) and the typed level (containers, images, system) built on it. Subclasses
 * implement `_start(operation, input, raw, sink)` → control and `close()`.
 */
class Client {
  constructor() {
    /** Container operations. */
    this.containers = new Containers(this);
    /** Image operations. */
    this.images = new Images(this);
    /** Daemon-wide operations. */
    this.system = new System(this);
    this._live = new Map(); // sink → control of each call in flight, ended by close()
  }

  // Starts a call whose sink is forgotten once its terminal event arrived; close() fails the
  // others. Throws (TypeError, CallError) when the call cannot even start.
  _open(operation, input, raw, sink) {
    if (typeof operation !== 'string' || operation.length === 0) {
      throw new TypeError('operation must be a non-empty string');
    }
    const tracked = new TrackedSink(this._live, sink);
    const ctl = this._start(operation, input, raw, tracked);
    this._live.set(tracked, ctl);
    return new TrackedControl(tracked, ctl);
  }

  // Cancels every call still in flight and fails it with CANCELLED (close()).
  _failLive(message) {
    const live = [...this._live];
    this._live.clear();
    for (const [sink, ctl] of live) {
      ctl.cancel();
      sink.error(new CallError(message, { code: 'CANCELLED' }));
    }
  }

  /**
   * Calls an operation and resolves with its output: the single output of a query or mutation,
   * or the array of every output of a subscription once it completed. Rejects with a CallError.
   * @param {string} operation e.g. "docker/container/inspect"
   * @param {object} [input]
   * @param {{signal?: AbortSignal}} [options] a `signal` that is not an AbortSignal rejects
   *   with a TypeError before anything is sent
   * @returns {Promise<any>}
   */
  call(operation, input = {}, options = {}) {
    return new Promise((resolve, reject) => {
      const signal = callSignal(options?.signal); // a throw here rejects
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const outputs = [];
      let settled = false;
      let ctl = null;
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        if (signal) signal.removeEventListener('abort', onAbort);
        fn(value);
      };
      const onAbort = () => {
        if (ctl) ctl.cancel();
        settle(reject, abortReason(signal));
      };
      const sink = {
        outputs(items) {
          for (const item of items) outputs.push(item);
        },
        output(item) {
          outputs.push(item);
        },
        answered: () => settle(resolve, outputs[outputs.length - 1]),
        completed: () => settle(resolve, outputs),
        error: (err) => settle(reject, err),
        rawOpen: () => {
          ctl.cancel();
          settle(reject, new CallError(`${operation} switched to the raw carriage; use open()`, { code: 'INVALID_OPERATION_TYPE' }));
        },
        stdout() {},
        stderr() {},
        control() {},
        exit: () => settle(resolve, outputs),
        drain() {},
      };
      try {
        ctl = this._open(operation, input, false, sink);
      } catch (err) {
        settle(reject, err);
        return;
      }
      if (signal && !settled) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Calls a subscription and returns its outputs as an async iterable (see Subscription):
   * it ends at call.completed, throws the CallError of call.error, cancels the call when the
   * loop is left early, and pauses the daemon side while the consumer is behind.
   * @param {string} operation e.g. "docker/container/logs"
   * @param {object} [input]
   * @param {{signal?: AbortSignal, highWaterMark?: number}} [options] a `signal` that is not an
   *   AbortSignal throws a TypeError before anything is sent
   * @returns {Subscription<any>}
   */
  subscribe(operation, input = {}, options = {}) {
    return new Subscription((sink) => this._open(operation, input, false, sink), options);
  }

  /**
   * Calls an operation on the raw carriage (attach, exec with stdin/tty) and returns the session
   * as a Duplex (see RawStream): stdin on the writable side, stdout on the readable side,
   * `.stderr`, `.resize()`, `.signal()`, `.exit`.
   * @param {string} operation e.g. "docker/container/attach"
   * @param {object} [input]
   * @param {{signal?: AbortSignal, highWaterMark?: number}} [options] a `signal` that is not an
   *   AbortSignal throws a TypeError before anything is sent
   * @returns {RawStream}
   */
  open(operation, input = {}, options = {}) {
    return new RawStream((sink) => this._open(operation, input, true, sink), options);
  }
}

module.exports = { Client };
