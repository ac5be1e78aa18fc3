'use strict';

/**
 * The error of a call: a `call.error` from the engine or the server, or a failure of the
 * connection to it. `code` is one of the protocol's codes (`NOT_FOUND`, `INVALID_INPUT`,
 * `CONTAINER_NOT_FOUND`, `DOCKER_UNAVAILABLE`, …) or `CANCELLED` when the caller gave up
 * the call (break out of an iterator, destroy a stream, abort).
 */
class CallError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, retryable?: boolean, details?: unknown, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    /** @type {string} */
    this.code = options.code || 'INTERNAL';
    /** @type {boolean} true when trying again later may succeed (the daemon is restarting, …) */
    this.retryable = Boolean(options.retryable);
    /** @type {unknown} structured details, e.g. `{field}` for INVALID_INPUT */
    this.details = options.details;
  }

  /**
   * Builds the error of a `call.error` payload `{code, message, retryable, details?}`.
   * @param {any} payload
   * @returns {CallError}
   */
  static fromPayload(payload) {
    if (payload === null || typeof payload !== 'object' || typeof payload.code !== 'string') {
      return new CallError(`malformed call.error: ${JSON.stringify(payload)}`, { code: 'INTERNAL' });
    }
    return new CallError(String(payload.message ?? payload.code), {
      code: payload.code,
      retryable: payload.retryable === true,
      details: payload.details,
    });
  }
}

Object.defineProperty(CallError.prototype, 'name', {
  value: 'CallError',
  enumerable: false,
  writable: true,
  configurable: true,
});

/** @returns {CallError} the error of a call the caller gave up. */
function cancelledError() {
  return new CallError('the call was cancelled', { code: 'CANCELLED' });
}

/**
 * The rejection of an aborted call: the signal's reason, as fetch() does.
 * @param {AbortSignal} signal
 */
function abortReason(signal) {
  return signal.reason !== undefined
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Checks the `signal` call option before anything is sent: absent (undefined or null), or an
 * AbortSignal — duck-typed (`aborted`, `addEventListener`, `removeEventListener`), so signals of
 * other realms and polyfills pass. Anything else is a TypeError: a string used as a signal would
 * otherwise fail only once the call already ran, from inside the engine's callback.
 * @param {unknown} signal
 * @param {string} [name] the option's name, for the message
 * @returns {AbortSignal|undefined}
 */
function callSignal(signal, name = 'signal') {
  if (signal === undefined || signal === null) return undefined;
  if (
    typeof signal === 'object' &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' &&
    typeof signal.removeEventListener === 'function'
  ) {
    return signal;
  }
  const shown = typeof signal === 'string' ? JSON.stringify(signal) : typeof signal;
  throw new TypeError(`the ${name} call option must be an AbortSignal, not ${shown}`);
}

/**
 * Checks the `highWaterMark` call option: undefined (or null) for the default, else a positive
 * number of bytes. Returns it; throws a TypeError otherwise (a string or NaN would silently turn
 * backpressure off, since no queue ever compares greater).
 */
function callHighWaterMark(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && value > 0) return value; // NaN > 0 is false too
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new TypeError(`the highWaterMark call option must be a positive number of bytes, not ${shown}`);
}

module.exports = { CallError, cancelledError, abortReason, callSignal, callHighWaterMark };
