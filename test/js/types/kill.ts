// Compiled (not run) by types.test.js: the d.ts must accept what the API accepts, and refuse the rest.
import { Engine, KillOptions } from '../../../lib/index';

export async function usage(engine: Engine, ac: AbortController): Promise<void> {
  // kill(): a string or number `signal` is the docker signal; an AbortSignal is the call's.
  await engine.containers.kill('x', { signal: 'TERM' });
  await engine.containers.kill('x', { signal: 15 });
  await engine.containers.kill('x', { signal: ac.signal });
  await engine.containers.kill('x', { signal: 'HUP', abortSignal: ac.signal });
  await engine.containers.kill('x');
  const options: KillOptions = { signal: 'INT' };
  await engine.containers.kill('x', options);
  // Elsewhere `signal` is the AbortSignal only.
  await engine.containers.stop('x', { signal: ac.signal, timeout: 1 });
  await engine.call('docker/container/kill', { containerId: 'x', signal: 'TERM' }, { signal: ac.signal });
  // @ts-expect-error stop takes no docker signal
  await engine.containers.stop('x', { signal: 'TERM' });
  // @ts-expect-error abortSignal is an AbortSignal
  await engine.containers.kill('x', { abortSignal: 'TERM' });
  // @ts-expect-error the protocol level's signal is an AbortSignal
  await engine.call('docker/container/kill', { containerId: 'x' }, { signal: 'TERM' });
}
