// ESM entry point: the same objects as the CommonJS one (lib/index.js).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.js');

export const { connect, Client, UnixClient, CallError, Subscription, RawStream } = api;

// The unix client works without the native addon; so does importing this module. Without the
// addon, constructing an Engine throws the load error.
function loadEngine() {
  try {
    return api.Engine;
  } catch (err) {
    return class Engine {
      constructor() {
        throw err;
      }
    };
  }
}

export const Engine = loadEngine();
export default api;
