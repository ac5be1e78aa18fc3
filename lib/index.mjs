// ESM entry point: the same objects as the CommonJS one (lib/index.js).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.js');

export const { connect, Client, UnixClient, CallError, Subscription, RawStream } = api;

// The unix client works without the native addon; so does importing this module. Without the
// addon, constructing an Engine or a QuicClient (connect('quic://…')) throws the load error.
function loadNative(name) {
  try {
    return api[name];
  } catch (err) {
    return class {
      constructor() {
        throw err;
      }
    };
  }
}

export const Engine = loadNative('Engine');
export const QuicClient = loadNative('QuicClient');
export default api;
