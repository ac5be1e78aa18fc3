// ESM entry point: the same objects as the CommonJS one (lib/index.js).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.js');

export const { connect, Client, UnixClient, CallError, Subscription, RawStream } = api;
export const Engine = api.Engine;
export default api;
