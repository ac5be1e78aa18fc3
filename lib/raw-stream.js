'use strict';

const { Duplex, Readable } = require('node:stream');
const { CallError, cancelledError, abortReason, callSignal, callHighWaterMark } = require('./errors');

/**
 * A call on the raw carriage (attach, exec with stdin or a TTY) as a Duplex: the writable side is
 * the container's stdin, the readable side its stdout, `.stderr` its stderr (empty with a TTY).
 *
 * - write() returns false and 'drain' follows when the daemon's socket is congested: the stdin
 *   chunks are held until the engine (or server) has room.
 * - end() half-closes the container's stdin; the output keeps flowing until the container ends
 *   it (and `end` is emitted on the readable side).
 * - resize(cols, rows) and signal(name) are control messages of the session.
 * - `exit` settles with `{exitCode}` once the output reached its end and the exit code is known
 *   (-1 when the session could not tell); it rejects with the call's CallError.
 * - destroy() cancels the call: the docker connection is released.
 *
 * Flow control covers both readable sides: read `.stderr` too (or pipe it), or the session pauses
 * once its buffer is full, as with a child process's pipes.
 */
class RawStream extends Duplex {
  /**
   * @param {(sink: object) => object} start starts the raw call with a sink; returns its control
   * @param {{signal?: AbortSignal, highWaterMark?: number}} [options]
   * @throws {TypeError} when `signal` is not an AbortSignal or `highWaterMark` not a positive
   * number (the call is not started)
   */
  constructor(start, options = {}) {
    const signal = callSignal(options.signal);
    const highWaterMark = callHighWaterMark(options.highWaterMark);
    super({ allowHalfOpen: true, highWaterMark });
    /** @type {Readable} the container's stderr */
    this.stderr = new Readable({
      highWaterMark,
      read: () => {
        this._errPaused = false;
        this._maybeResume();
      },
    });
    /** @type {boolean|undefined} whether the session is a TTY, once open */
    this.tty = undefined;
    this._open = false;
    this._finished = false; // the call ended (exit, error) or was cancelled
    this._outPaused = false;
    this._errPaused = false;
    this._paused = false;
    this._pending = []; // writes and controls made before the session opened
    this._writeCallback = null; // the write waiting for 'drain' from the engine
    this._finalCallback = null;
    this._controlError = null; // an error reported in a control message, before exit
    /** @type {Promise<{exitCode: number}>} */
    this.exit = new Promise((resolve, reject) => {
      this._resolveExit = resolve;
      this._rejectExit = reject;
    });
    this.exit.catch(() => {});
    this._signal = signal;
    if (this._signal) {
      if (this._signal.aborted) {
        this._ctl = { write: () => true, endInput() {}, control() {}, pause() {}, resume() {}, cancel() {} };
        process.nextTick(() => this.destroy(abortReason(this._signal)));
        return;
      }
      this._onAbort = () => this.destroy(abortReason(this._signal));
      this._signal.addEventListener('abort', this._onAbort, { once: true });
    }
    try {
      this._ctl = start(this._sink());
    } catch (err) {
      this._ctl = { write: () => true, endInput() {}, control() {}, pause() {}, resume() {}, cancel() {} };
      process.nextTick(() => this._fail(err));
    }
  }

  _sink() {
    return {
      outputs() {},
      output() {},
      answered: () => this._fail(new CallError('the operation answered without switching to raw', { code: 'INTERNAL' })),
      completed: () => this._fail(new CallError('the operation completed without switching to raw', { code: 'INTERNAL' })),
      rawOpen: (tty) => this._onOpen(tty),
      stdout: (buf) => {
        if (!this.push(buf)) {
          this._outPaused = true;
          this._pause();
        }
      },
      stderr: (buf) => {
        if (!this.stderr.push(buf)) {
          this._errPaused = true;
          this._pause();
        }
      },
      control: (msg) => {
        if (msg && msg.type === 'error') {
          this._controlError = CallError.fromPayload(msg);
        }
        this.emit('control', msg);
      },
      exit: (code) => this._onExit(code),
      error: (err) => this._fail(err),
      drain: () => {
        const cb = this._writeCallback;
        this._writeCallback = null;
        if (cb) cb();
      },
    };
  }

  _pause() {
    if (!this._paused && !this._finished) {
      this._paused = true;
      this._ctl.pause();
    }
  }

  _maybeResume() {
    if (this._paused && !this._outPaused && !this._errPaused && !this._finished) {
      this._paused = false;
      this._ctl.resume();
    }
  }

  _onOpen(tty) {
    this._open = true;
    this.tty = tty;
    this.emit('open', { tty });
    const pending = this._pending;
    this._pending = [];
    for (const op of pending) op();
  }

  _onExit(code) {
    this._detach();
    if (this._controlError) {
      this._fail(this._controlError);
      return;
    }
    this._finished = true;
    this._resolveExit({ exitCode: code });
    this.push(null);
    this.stderr.push(null);
    // Nothing reads stdin any more: let pending writes and end() complete.
    const cb = this._writeCallback;
    this._writeCallback = null;
    if (cb) cb();
    this._flushPending();
  }

  _fail(err) {
    this._detach();
    this._finished = true;
    this._rejectExit(err);
    this.stderr.destroy(); // the error goes to the Duplex; stderr just ends
    this.destroy(err);
  }

  _flushPending() {
    const pending = this._pending;
    this._pending = [];
    for (const op of pending) op();
  }

  _detach() {
    if (this._onAbort) {
      this._signal.removeEventListener('abort', this._onAbort);
      this._onAbort = null;
    }
  }

  _read() {
    this._outPaused = false;
    this._maybeResume();
  }

  _write(chunk, encoding, callback) {
    if (!this._open && !this._finished) {
      this._pending.push(() => this._write(chunk, encoding, callback));
      return;
    }
    if (this._finished) {
      callback();
      return;
    }
    if (this._ctl.write(chunk)) {
      callback();
    } else {
      this._writeCallback = callback;
    }
  }

  _final(callback) {
    if (!this._open && !this._finished) {
      this._pending.push(() => this._final(callback));
      return;
    }
    if (!this._finished) this._ctl.endInput();
    callback();
  }

  _destroy(err, callback) {
    this._detach();
    if (!this._finished) {
      this._finished = true;
      this._ctl.cancel();
      this._rejectExit(err || cancelledError());
      if (!this.stderr.destroyed) this.stderr.destroy();
    }
    callback(err);
  }

  _control(msg) {
    if (this._finished) return;
    if (!this._open) {
      this._pending.push(() => this._control(msg));
      return;
    }
    this._ctl.control(msg);
  }

  /**
   * Sets the TTY size of the session.
   * @param {number} cols
   * @param {number} rows
   */
  resize(cols, rows) {
    this._control({ type: 'resize', cols, rows });
  }

  /**
   * Sends a signal to the process ("INT", "TERM", "SIGHUP", …).
   * @param {string} name
   */
  signal(name) {
    this._control({ type: 'signal', name: String(name).replace(/^SIG/, '') });
  }
}

module.exports = { RawStream };
