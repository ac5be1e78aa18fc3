'use strict';

const native = require('./native');
const { Client } = require('./client');
const { CallError } = require('./errors');
const { deliverRestAfterThrow } = require('./after-throw');

// Event kinds of a native delivery (cpp/node/event_queue.h EventKind).
const kOutputs = 0;
const kStdout = 1;
const kStderr = 2;
const kRawOpen = 3;
const kControl = 4;
const kExit = 5;
const kCompleted = 6;
const kAnswered = 7;
const kError = 8;
const kDrain = 9;
const kOutputEvents = 10;

// A delivery of exactly one output event comes as arguments (cpp/node/js_call.h), this first.
const kOneOutputEvent = 11;

// One output event of logs, exec or run from its parts (`f`: cpp/node/event_queue.h OutputPart
// flags) — the same object JSON.parse would give.
function outputEvent(payload, f, stamp) {
  const stream = (f & 1) !== 0 ? 'stderr' : 'stdout';
  if ((f & 8) !== 0) {
    return (f & 2) === 0 ? { stream, text: payload, timestamp: stamp } : { base64: payload, stream, timestamp: stamp };
  }
  return (f & 2) === 0 ? { stream, text: payload } : { base64: payload, stream };
}

// An output_events batch of the addon (cpp/node/js_call.cc): [payloads, flags (one character per
// event), timestamps, bytes]; the payloads array becomes the array of events.
function outputEvents(value) {
  const [items, flags, stamps] = value;
  for (let i = 0; i < items.length; i++) {
    items[i] = outputEvent(items[i], flags.charCodeAt(i), stamps?.[i]);
  }
  return items;
}

// Hands one native delivery — [kind, value, kind, value, …] — to a call's sink, in order, from
// event index `from`. A listener that throws (the sink runs user code: stream 'data' and 'open'
// listeners) does not cost the rest of the batch; its error goes on to the caller afterwards.
function dispatch(events, sink, from = 0) {
  let i = from;
  try {
    for (; i < events.length; i += 2) dispatchOne(events[i], events[i + 1], sink);
  } catch (error) {
    deliverRestAfterThrow(() => dispatch(events, sink, i + 2));
    throw error;
  }
}

function dispatchOne(kind, value, sink) {
  switch (kind) {
    case kOutputs:
      sink.outputs(JSON.parse(value), value.length);
      break;
    case kOutputEvents:
      sink.outputs(outputEvents(value), value[3]);
      break;
    case kStdout:
      sink.stdout(value);
      break;
    case kStderr:
      sink.stderr(value);
      break;
    case kRawOpen:
      sink.rawOpen(value);
      break;
    case kControl:
      sink.control(JSON.parse(value));
      break;
    case kExit:
      sink.exit(value);
      break;
    case kCompleted:
      sink.completed();
      break;
    case kAnswered:
      sink.answered();
      break;
    case kError:
      sink.error(CallError.fromPayload(JSON.parse(value)));
      break;
    case kDrain:
      sink.drain();
      break;
    default:
      break;
  }
}

// The receiver of a native call's deliveries, bound to the call's sink (one bound function per
// call, no closure context): a batch array, or one output event as arguments — a follow's line
// then allocates no array on its way to the consumer.
function deliver(events, payload, flags, stamp, bytes) {
  if (events === kOneOutputEvent) {
    this.output(outputEvent(payload, flags, stamp), bytes);
  } else {
    dispatch(events, this);
  }
}

// The control of a call of the in-process engine: its native.Call.
class NativeControl {
  constructor(call) {
    this._call = call;
  }

  write(bytes) {
    return this._call.write(bytes);
  }

  endInput() {
    return this._call.endInput();
  }

  control(message) {
    return this._call.control(JSON.stringify(message));
  }

  pause() {
    return this._call.pause();
  }

  resume() {
    return this._call.resume();
  }

  cancel() {
    return this._call.cancel();
  }
}

/**
 * The in-process engine: the C++ core on this thread's event loop (no second libuv, no threads),
 * talking to the Docker daemon named by `options.host`, or DOCKER_HOST, or the local socket. It
 * runs as the local operator (it is your own docker socket). Usable from several worker threads at
 * once (each gets its own engine state); everything is released at env teardown.
 */
class Engine extends Client {
  /**
   * @param {import('./index').EngineOptions} [options]
   */
  constructor(options = {}) {
    super();
    const t = options.connectTimeoutMs;
    if (t !== undefined && !(Number.isSafeInteger(t) && t >= 0)) {
      throw new TypeError('options.connectTimeoutMs must be a non-negative integer (0: none)');
    }
    const env = process.env;
    const host = options.host ?? env.DOCKER_HOST ?? '';
    this._native = new native.Engine({
      host,
      tlsVerify: options.tlsVerify ?? (options.host === undefined ? env.DOCKER_TLS_VERIFY : undefined) ?? '',
      certPath: options.certPath ?? (options.host === undefined ? env.DOCKER_CERT_PATH : undefined) ?? '',
      apiVersion: options.apiVersion ?? env.DOCKER_API_VERSION ?? '',
      labelPrefix: options.labelPrefix ?? '',
      connectTimeoutMs: options.connectTimeoutMs,
    });
    this._closed = null;
  }

  /** @returns {string} where the daemon is, in DOCKER_HOST form. */
  get endpoint() {
    return this._native.describe();
  }

  _start(operation, input, raw, sink) {
    if (this._closed) throw new CallError('the engine is closed', { code: 'INTERNAL' });
    const call = new native.Call(this._native, operation, JSON.stringify(input ?? {}), raw, deliver.bind(sink));
    return new NativeControl(call);
  }

  /**
   * Live connections to the daemon and calls in flight (for leak checks), or null once closed.
   * @returns {{idle: number, busy: number, hijacked: number, calls: number} | null}
   */
  stats() {
    return this._native.stats();
  }

  /**
   * Cancels every call still running (they reject with CANCELLED), gives the cleanup that
   * cancelling started — run kills and removes its container — up to `graceMs` to finish, then
   * closes the connections to the daemon. Resolves once every handle is closed.
   * @param {{graceMs?: number}} [options]
   * @returns {Promise<void>}
   */
  close(options = {}) {
    if (!this._closed) {
      const graceMs = options.graceMs ?? 10000;
      if (typeof graceMs !== 'number' || !(graceMs >= 0)) {
        return Promise.reject(new TypeError('options.graceMs must be a non-negative number'));
      }
      this._failLive('the engine was closed');
      this._closed = (async () => {
        const deadline = Date.now() + graceMs;
        for (;;) {
          const s = this._native.stats();
          if (s === null || (s.busy === 0 && s.hijacked === 0) || Date.now() >= deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await new Promise((resolve) => {
          if (!this._native.close(() => resolve())) resolve();
        });
      })();
    }
    return this._closed;
  }
}

module.exports = { Engine, dispatch };
