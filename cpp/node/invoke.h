// Calling JS from a libuv callback of Node's loop: the one place native code enters JS.
#pragma once

#include <napi.h>

namespace alk::node {

/// Calls `fn` with `args` inside a callback scope (napi_make_callback with `context`), so
/// process.nextTick callbacks and promise reactions run before it returns. Must be called from a
/// libuv callback (never from inside a JS→native call) with a HandleScope open. An exception
/// thrown by `fn` is reported like one thrown by an event listener ('uncaughtException'); when
/// the environment is terminating (worker.terminate()), the call fails silently.
void invoke(Napi::Env env, napi_async_context context, napi_value recv, napi_value fn,
            std::initializer_list<napi_value> args);

}  // namespace alk::node
