// Promises for a JS iterator's waiting next(), made and settled by the addon (lib/pending.js).
// A promise from napi_create_promise is the promise alone: no resolving functions on the JS heap,
// which with hundreds of follows open is what would survive every scavenge (see pending.js).
#pragma once

#include <napi.h>

namespace alk::node {

/// Adds to `exports`, for lib/pending.js only:
/// - `pendingWait(slot)` → a pending Promise. `slot` is a uint32 chosen by the caller: a free
///   slot, or the next unused index (slots are dense). A TypeError for anything else, or for a
///   slot that holds an unsettled wait.
/// - `pendingSettle(slot, value, ok)`: fulfils (`ok` true) or rejects the wait of `slot` with
///   `value` and frees the slot; a TypeError for a slot without a wait.
/// Waits are kept per environment (Addon::pending). One left unsettled at env teardown (a worker
/// terminated while a `for await` waits) cannot be concluded: N-API refuses once JS can no longer
/// run, so its promise goes with the isolate and N-API's 8-byte deferred is never freed.
void define_pending(Napi::Env env, Napi::Object exports);

}  // namespace alk::node
