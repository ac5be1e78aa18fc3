// Type definitions for alknet-docker (first-party, kept with the code in lib/).

import { Duplex, Readable } from 'node:stream';

// ---------------------------------------------------------------------------------------------
// Errors

/** Error codes of the call protocol and the docker operations; CANCELLED when the caller gave up. */
export type CallErrorCode =
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'INVALID_INPUT'
  | 'INVALID_OPERATION_TYPE'
  | 'INTERNAL'
  | 'TIMEOUT'
  | 'CONTAINER_NOT_FOUND'
  | 'IMAGE_NOT_FOUND'
  | 'CONFLICT'
  | 'DOCKER_ERROR'
  | 'DOCKER_UNAVAILABLE'
  | 'CANCELLED'
  | (string & {});

/** The error of a call (`call.error`), or of the connection to the server. */
export class CallError extends Error {
  constructor(message: string, options?: { code?: string; retryable?: boolean; details?: unknown; cause?: unknown });
  readonly name: 'CallError';
  /** e.g. CONTAINER_NOT_FOUND, INVALID_INPUT, DOCKER_UNAVAILABLE */
  code: CallErrorCode;
  /** True when the same call may succeed later (the daemon is down or restarting). */
  retryable: boolean;
  /** Structured details, e.g. `{field}` for INVALID_INPUT, `{status, message}` for DOCKER_ERROR. */
  details?: any;
  /** Builds the error of a `call.error` payload. */
  static fromPayload(payload: unknown): CallError;
}

// ---------------------------------------------------------------------------------------------
// Protocol level

export interface CallOptions {
  /**
   * Cancels the call; the promise rejects with `signal.reason`. It must be an AbortSignal:
   * anything else is a TypeError before anything is sent (thrown by the typed methods, subscribe()
   * and open(); call() rejects with it). The one exception is `containers.kill()`, where a string
   * or number `signal` names the docker signal (see KillOptions).
   */
  signal?: AbortSignal;
}

export interface StreamOptions extends CallOptions {
  /** Bytes of outputs queued for the consumer before the daemon side is paused (default 1 MiB); a
   * positive number, else a TypeError before the call starts. */
  highWaterMark?: number;
}

/**
 * The outputs of a subscription. Ends at call.completed, throws the CallError of call.error
 * (after every earlier output), cancels the call when the loop is left early. The daemon side is
 * paused while the consumer is behind.
 */
export interface Subscription<T, R = void> extends AsyncIterableIterator<T> {
  /** Settles when the call ends: the terminal result, or the CallError (CANCELLED on break). */
  readonly completed: Promise<R>;
  /** Cancels the call (as a `break` does). */
  cancel(): void;
  [Symbol.asyncIterator](): Subscription<T, R>;
}
export const Subscription: { prototype: Subscription<any, any> };

/** A raw-carriage session (attach, exec with stdin/TTY) as a Duplex. */
export interface RawStream extends Duplex {
  /**
   * The container's stderr (empty with a TTY). Flow-controlled like stdout: consume it, or the
   * session pauses once its buffer is full.
   */
  readonly stderr: Readable;
  /** Whether the session is a TTY; known once 'open' was emitted. */
  readonly tty: boolean | undefined;
  /** Settles once the output ended and the exit code is known (-1 if it could not be told). */
  readonly exit: Promise<{ exitCode: number }>;
  /** Sets the TTY size. */
  resize(cols: number, rows: number): void;
  /** Sends a signal ("INT", "TERM", "SIGHUP", …). */
  signal(name: string): void;
  on(event: 'open', listener: (info: { tty: boolean }) => void): this;
  on(event: 'control', listener: (message: { type: string; [k: string]: unknown }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'open', listener: (info: { tty: boolean }) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}
export const RawStream: { prototype: RawStream };

// ---------------------------------------------------------------------------------------------
// Typed level: inputs and outputs

/** An output event of logs, exec and run: the bytes as text, or as base64 when not UTF-8. */
export type OutputEvent =
  | { stream: 'stdout' | 'stderr'; text: string; base64?: never; timestamp?: string }
  | { stream: 'stdout' | 'stderr'; base64: string; text?: never; timestamp?: string };

/** `{ok}` of the container actions; `changed` is false when nothing had to be done (HTTP 304). */
export interface Ack {
  ok: boolean;
  changed?: boolean;
}

export interface ContainerSpec {
  image: string;
  /** The program and its arguments; a string runs with `sh -c`. */
  command?: string[] | string;
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  name?: string;
  workingDir?: string;
  user?: string;
  hostname?: string;
  tty?: boolean;
  openStdin?: boolean;
  stdinOnce?: boolean;
  attachStdin?: boolean;
  attachStdout?: boolean;
  attachStderr?: boolean;
  binds?: string[];
  networkMode?: string;
  /** Bytes. */
  memory?: number;
  cpus?: number;
  init?: boolean;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  devices?: string[];
  securityOpt?: string[];
  ipcMode?: string;
  pidMode?: string;
  utsMode?: string;
  restartPolicy?: { name: string; maximumRetryCount?: number } | string;
  stopSignal?: string;
  stopTimeout?: number;
  [field: string]: unknown;
}

export interface RunSpec extends ContainerSpec {
  /** Remove the container once it exited and its output was read (default true). */
  autoRemove?: boolean;
}

export interface ListOptions extends CallOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: Record<string, string[]>;
  /** Only the containers created through the bridge by this caller. */
  ownedOnly?: boolean;
}

export interface LogsOptions extends StreamOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  timestamps?: boolean;
  tail?: number | 'all';
  /** RFC 3339 time or unix seconds. */
  since?: string | number;
  until?: string | number;
}

export interface ExecOptions extends StreamOptions {
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  /** "buffer" resolves stdout/stderr as Buffers (default "utf8" strings). */
  encoding?: BufferEncoding | 'buffer';
}

export interface ExecResult<T = string> {
  exitCode: number;
  stdout: T;
  stderr: T;
}

export interface AttachOptions extends StreamOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

/**
 * kill()'s options. `signal` keeps its meaning of every call — the call's AbortSignal — when it is
 * one; a string or number `signal` is the docker signal to send instead, as the operation's input
 * (`docker/container/kill` `signal`), so `kill(id, {signal: 'TERM'})` sends SIGTERM and
 * `kill(id, {signal: ac.signal})` sends the default SIGKILL, abortable. To do both, pass the
 * AbortSignal as `abortSignal`: `kill(id, {signal: 'TERM', abortSignal: ac.signal})`.
 */
export interface KillOptions extends Omit<CallOptions, 'signal'> {
  /** "TERM", "SIGHUP", 15 (default KILL); or the call's AbortSignal. */
  signal?: string | number | AbortSignal;
  /** The call's AbortSignal, when `signal` names the docker signal. */
  abortSignal?: AbortSignal;
}

export interface PullProgress {
  status: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface PullTarget {
  image: string;
  tag?: string;
  platform?: string;
  auth?: { username?: string; password?: string; serverAddress?: string; identityToken?: string };
}

/** run(): output events; `completed` resolves with the exit code. */
export interface RunSubscription extends Subscription<OutputEvent, { exitCode: number }> {
  /** The container's id, once created. */
  readonly containerId: string | undefined;
}

export interface Containers {
  list(options?: ListOptions): Promise<any[]>;
  inspect(containerId: string, options?: CallOptions & { size?: boolean }): Promise<any>;
  create(spec: ContainerSpec, options?: CallOptions): Promise<{ id: string; warnings: string[] }>;
  start(containerId: string, options?: CallOptions): Promise<Ack>;
  stop(containerId: string, options?: CallOptions & { timeout?: number }): Promise<Ack>;
  /** Sends a signal to the container (see KillOptions: `signal` is a docker signal or the AbortSignal). */
  kill(containerId: string, options?: KillOptions): Promise<Ack>;
  restart(containerId: string, options?: CallOptions & { timeout?: number }): Promise<Ack>;
  remove(containerId: string, options?: CallOptions & { force?: boolean; volumes?: boolean }): Promise<Ack>;
  wait(
    containerId: string,
    options?: CallOptions & { condition?: 'not-running' | 'next-exit' | 'removed' },
  ): Promise<{ exitCode: number; error?: string }>;
  resize(containerId: string, size: CallOptions & { cols: number; rows: number }): Promise<Ack>;
  logs(containerId: string, options?: LogsOptions): Subscription<OutputEvent>;
  stats(containerId: string, options?: StreamOptions & { stream?: boolean }): Subscription<any>;
  /** Interactive exec: a Duplex on the container's process. */
  exec(containerId: string, command: string[] | string, options: ExecOptions & { stdin: true; tty?: boolean }): RawStream;
  exec(containerId: string, command: string[] | string, options: ExecOptions & { tty: true; stdin?: boolean }): RawStream;
  exec(containerId: string, command: string[] | string, options: ExecOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  /** Runs a command; resolves once its output ended and its exit code is known. */
  exec(containerId: string, command: string[] | string, options?: ExecOptions & { stdin?: false; tty?: false }): Promise<ExecResult>;
  attach(containerId: string, options?: AttachOptions): RawStream;
  /** Creates, starts and follows a container; leaving the loop early kills and removes it. */
  run(spec: RunSpec, options?: StreamOptions): RunSubscription;
}

export interface Images {
  list(options?: CallOptions & { all?: boolean; digests?: boolean; filters?: Record<string, string[]> }): Promise<any[]>;
  inspect(image: string, options?: CallOptions): Promise<any>;
  /** Progress events; `completed` rejects on an error reported inside the daemon's stream. */
  pull(image: string | PullTarget, options?: StreamOptions): Subscription<PullProgress>;
  remove(image: string, options?: CallOptions & { force?: boolean; noprune?: boolean }): Promise<any[]>;
}

export interface System {
  ping(options?: CallOptions): Promise<{ ok: boolean; apiVersion?: string }>;
  version(options?: CallOptions): Promise<any>;
  info(options?: CallOptions): Promise<any>;
  events(
    options?: StreamOptions & { filters?: Record<string, string[]>; since?: number | string; until?: number | string; type?: string },
  ): Subscription<any>;
}

// ---------------------------------------------------------------------------------------------
// Clients

/** What the in-process engine and the client of a server have in common. */
export abstract class Client {
  readonly containers: Containers;
  readonly images: Images;
  readonly system: System;
  /** A query or mutation resolves with its output; a subscription with the array of its outputs. */
  call<T = any>(operation: string, input?: object, options?: CallOptions): Promise<T>;
  /** A subscription's outputs as an async iterable. */
  subscribe<T = any>(operation: string, input?: object, options?: StreamOptions): Subscription<T, any>;
  /** A call on the raw carriage, as a Duplex. */
  open(operation: string, input?: object, options?: StreamOptions): RawStream;
  /** Cancels every call in flight (they reject with CANCELLED) and closes the connections. */
  close(): Promise<void>;
}

export interface EngineOptions {
  /** A DOCKER_HOST value (unix:///path, tcp://host:port, https://host:port); default $DOCKER_HOST or the local socket. */
  host?: string;
  /** DOCKER_TLS_VERIFY semantics: non-empty turns TLS with verification on. */
  tlsVerify?: string;
  /** DOCKER_CERT_PATH semantics: holds ca.pem, cert.pem, key.pem. */
  certPath?: string;
  /** Forces an Engine API version ("1.41") instead of negotiating it. */
  apiVersion?: string;
  /** Prefix of the ownership labels (default "alknet"). */
  labelPrefix?: string;
  /** Milliseconds a connection to the daemon may take (default 5000; 0: no limit). */
  connectTimeoutMs?: number;
}

export interface EngineStats {
  /** Kept-alive daemon connections, unused. */
  idle: number;
  /** Daemon connections carrying a request or a stream. */
  busy: number;
  /** Daemon connections taken over for attach/exec. */
  hijacked: number;
  /** Calls in flight. */
  calls: number;
}

/** The in-process engine on this thread's event loop, as the local operator. */
export class Engine extends Client {
  constructor(options?: EngineOptions);
  /**
   * Cancels every call in flight (they reject with CANCELLED), waits up to `graceMs` (default
   * 10 s) for the cleanup cancelling started (run kills and removes its container), then closes
   * the connections to the daemon.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Where the daemon is, in DOCKER_HOST form. */
  readonly endpoint: string;
  /** Live connections and calls (null once closed). */
  stats(): EngineStats | null;
}

/** A client of `alknet-docker serve` on a unix socket. */
export class UnixClient extends Client {
  constructor(address: string, options?: { authToken?: string });
  readonly endpoint: string;
  stats(): { calls: number };
}

export interface QuicOptions {
  /** PEM file of the CA(s) the server certificate must chain to (default: the system trust store). */
  ca?: string;
  /** PEM file of the client certificate the server identifies this client by (with `key`). */
  cert?: string;
  /** PEM file of its private key. */
  key?: string;
  /** The name the server certificate must match (DNS or IP SAN); default: the address' host. */
  serverName?: string;
  /** Sent with every call; the server maps it to a peer (peers file). */
  authToken?: string;
  /** An idle connection closes after this long (default 30000); the next call makes a new one. */
  idleTimeoutMs?: number;
  /** PINGs while calls are open, so a quiet call is not idle (default 10000; 0: none). */
  keepAliveMs?: number;
  /** Default 10000. */
  handshakeTimeoutMs?: number;
}

/**
 * A client of `alknet-docker serve` over QUIC: one connection (made at the first call, made
 * again at the next call after it failed or ended) carries every call, one stream each. A broken
 * connection fails its calls with a retryable INTERNAL CallError; the server refusing the client
 * certificate with a non-retryable FORBIDDEN one.
 */
export class QuicClient extends Client {
  constructor(address: string, options?: QuicOptions);
  /** "quic://host:port". */
  readonly endpoint: string;
  /** Calls in flight, whether a connection is open (or being made), connections made so far. */
  stats(): { calls: number; connected: boolean; connections: number };
  /** Cancels every call in flight and closes the connection (CONNECTION_CLOSE). */
  close(): Promise<void>;
}

export type ConnectOptions = QuicOptions;

/** Connects to an `alknet-docker serve`: "quic://host:port" (mutual TLS; needs the addon). */
export function connect(address: `quic://${string}`, options?: QuicOptions): QuicClient;
/** Connects to an `alknet-docker serve` on a unix socket ("unix:///path/to/socket"). */
export function connect(address: string, options?: { authToken?: string }): UnixClient;
