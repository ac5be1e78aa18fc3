'use strict';

/**
 * The typed level: one method per Docker operation, with the inputs of docs/operations (camelCase)
 * and the shapes callers expect — promises for one-shot operations, Subscriptions (async
 * iterables) for streams, RawStreams (Duplex) for interactive sessions.
 */

const { CallError, callSignal } = require('./errors');

// The call options of a typed method: `signal` is the call's AbortSignal on every method (the Web
// convention; kill() alone also takes a docker signal name, see there). Checked here, so a bad one
// throws a TypeError before anything is sent, like a bad container id.
function callOptions(options) {
  const { signal, highWaterMark } = options ?? {};
  return { signal: callSignal(signal), highWaterMark };
}

// Splits the call options ({signal, highWaterMark}) from the operation's input.
function split(options) {
  const { signal, highWaterMark, ...input } = options ?? {};
  return [input, callOptions({ signal, highWaterMark })];
}

function argv(command, name = 'command') {
  if (typeof command === 'string') return ['sh', '-c', command];
  if (Array.isArray(command) && command.length > 0 && command.every((c) => typeof c === 'string')) {
    return command;
  }
  throw new TypeError(`${name} must be a string (run by sh -c) or a non-empty array of strings`);
}

function id(containerId) {
  if (typeof containerId !== 'string' || containerId.length === 0) {
    throw new TypeError('containerId must be a non-empty string');
  }
  return containerId;
}

function bytesOf(event) {
  if (typeof event.text === 'string') return Buffer.from(event.text, 'utf8');
  if (typeof event.base64 === 'string') return Buffer.from(event.base64, 'base64');
  return Buffer.alloc(0);
}

class Containers {
  /** @param {import('./client').Client} client */
  constructor(client) {
    this._client = client;
  }

  /** Containers (`all`, `limit`, `size`, `filters`, `ownedOnly`). */
  list(options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/list', input, call);
  }

  /** The daemon's inspect JSON of a container. */
  inspect(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/inspect', { containerId: id(containerId), ...input }, call);
  }

  /** Creates a container; resolves with `{id, warnings}`. */
  create(spec, options = {}) {
    const input = { ...spec };
    if (input.command !== undefined) input.command = argv(input.command);
    return this._client.call('docker/container/create', input, callOptions(options));
  }

  /** Starts a container: `{ok, changed}` (changed is false when it was running already). */
  start(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/start', { containerId: id(containerId), ...input }, call);
  }

  /** Stops a container (`timeout` seconds before SIGKILL). */
  stop(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/stop', { containerId: id(containerId), ...input }, call);
  }

  /**
   * Sends a signal to the container's main process. `signal` is the docker signal when it is a
   * string ("TERM", "SIGHUP") or a number (15); default KILL. An AbortSignal as `signal` is the
   * call's, as on every other method; with a docker signal, pass the AbortSignal as `abortSignal`.
   */
  kill(containerId, options = {}) {
    const { signal, abortSignal, ...rest } = options ?? {};
    let name;
    let abort = callSignal(abortSignal, 'abortSignal');
    if (typeof signal === 'string') {
      name = signal;
    } else if (typeof signal === 'number') {
      if (!Number.isInteger(signal) || signal <= 0) throw new TypeError(`signal ${signal} is not a signal number`);
      name = String(signal);
    } else if (signal !== undefined && signal !== null) {
      callSignal(signal); // neither a docker signal nor an AbortSignal: say so first
      if (abortSignal !== undefined && abortSignal !== null) {
        throw new TypeError('kill() takes the AbortSignal once: as signal or as abortSignal');
      }
      abort = signal;
    }
    const [input, call] = split({ ...rest, signal: abort });
    if (name !== undefined) input.signal = name;
    return this._client.call('docker/container/kill', { containerId: id(containerId), ...input }, call);
  }

  /** Restarts a container. */
  restart(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/restart', { containerId: id(containerId), ...input }, call);
  }

  /** Removes a container (`force`, `volumes`). */
  remove(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/remove', { containerId: id(containerId), ...input }, call);
  }

  /** Waits until the container stops (`condition`); resolves with `{exitCode}`. */
  wait(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/container/wait', { containerId: id(containerId), ...input }, call);
  }

  /** Sets the TTY size of a container. */
  resize(containerId, { cols, rows, ...options }) {
    const [input, call] = split(options);
    return this._client.call('docker/container/resize', { containerId: id(containerId), cols, rows, ...input }, call);
  }

  /**
   * The logs as an async iterable of `{stream, text | base64, timestamp?}` (`follow`, `stdout`,
   * `stderr`, `timestamps`, `tail`, `since`, `until`).
   */
  logs(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.subscribe('docker/container/logs', { containerId: id(containerId), ...input }, call);
  }

  /** Resource usage samples as an async iterable (`stream: false` for one sample). */
  stats(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.subscribe('docker/container/stats', { containerId: id(containerId), ...input }, call);
  }

  /**
   * Runs a command in a running container. Without stdin or tty, resolves with
   * `{exitCode, stdout, stderr}` once the output ended and the exit code is known (`encoding:
   * "buffer"` for Buffers instead of strings). With `stdin: true` or `tty: true`, returns the
   * session as a Duplex (RawStream) with `.exit`.
   */
  exec(containerId, command, options = {}) {
    const { encoding, ...rest } = options;
    const [input, call] = split(rest);
    const full = { containerId: id(containerId), command: argv(command), ...input };
    if (full.stdin || full.tty) {
      full.stdin = Boolean(full.stdin);
      full.tty = Boolean(full.tty);
      return this._client.open('docker/container/exec', full, call);
    }
    delete full.stdin;
    delete full.tty;
    const sub = this._client.subscribe('docker/container/exec', full, { ...call, terminal: 'completed' });
    return (async () => {
      const out = [];
      const err = [];
      for await (const event of sub) {
        (event.stream === 'stderr' ? err : out).push(bytesOf(event));
      }
      const result = await sub.completed;
      const decode = (parts) => (encoding === 'buffer' ? Buffer.concat(parts) : Buffer.concat(parts).toString(encoding || 'utf8'));
      return { exitCode: result?.exitCode ?? -1, stdout: decode(out), stderr: decode(err) };
    })();
  }

  /**
   * Attaches to a container (`stdin`, `stdout`, `stderr`, all true by default) and returns the
   * session as a Duplex (RawStream): write() to its stdin, read its stdout, `.stderr`, `.exit`.
   */
  attach(containerId, options = {}) {
    const [input, call] = split(options);
    return this._client.open('docker/container/attach', { containerId: id(containerId), ...input }, call);
  }

  /**
   * Creates, starts and follows a container — the coordinator's one call. Returns an async
   * iterable of output events `{stream, text | base64}`; `.completed` resolves with `{exitCode}`
   * once the output is drained and the exit code known, `.containerId` is set once created.
   * Leaving the loop early (or aborting) kills and removes the container.
   */
  run(spec, options = {}) {
    const input = { ...spec };
    if (input.command !== undefined) input.command = argv(input.command);
    const first = (event, sub) => {
      if (event && event.status === 'created' && typeof event.containerId === 'string') {
        sub.containerId = event.containerId;
        return false;
      }
      return true;
    };
    const sub = this._client.subscribe('docker/container/run', input, { ...callOptions(options), terminal: 'completed', first });
    /** @type {string|undefined} the container's id, once created */
    sub.containerId ??= undefined;
    return sub;
  }
}

class Images {
  /** @param {import('./client').Client} client */
  constructor(client) {
    this._client = client;
  }

  /** Images (`all`, `digests`, `filters`). */
  list(options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/image/list', input, call);
  }

  /** The daemon's inspect JSON of an image. */
  inspect(image, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/image/inspect', { image, ...input }, call);
  }

  /**
   * Pulls an image ("name:tag", or `{image, tag, platform, auth}`): an async iterable of progress
   * events `{status, id?, progress?, progressDetail?}`; `.completed` resolves once the pull is
   * done and rejects on an error reported inside the daemon's stream.
   */
  pull(image, options = {}) {
    const [input, call] = split(options);
    const target = typeof image === 'string' ? { image } : { ...image };
    return this._client.subscribe('docker/image/pull', { ...target, ...input }, call);
  }

  /** Removes an image (`force`, `noprune`). */
  remove(image, options = {}) {
    const [input, call] = split(options);
    return this._client.call('docker/image/remove', { image, ...input }, call);
  }
}

class System {
  /** @param {import('./client').Client} client */
  constructor(client) {
    this._client = client;
  }

  /** `{ok, apiVersion}` when the daemon answers. */
  ping(options = {}) {
    return this._client.call('docker/system/ping', {}, callOptions(options));
  }

  /** The daemon's version (docker version). */
  version(options = {}) {
    return this._client.call('docker/system/version', {}, callOptions(options));
  }

  /** System-wide information (docker info). */
  info(options = {}) {
    return this._client.call('docker/system/info', {}, callOptions(options));
  }

  /** The daemon's events as an async iterable (`filters`, `since`, `until`, `type`). */
  events(options = {}) {
    const [input, call] = split(options);
    return this._client.subscribe('docker/system/events', input, call);
  }
}

module.exports = { Containers, Images, System, CallError };
