// Calling JS from a libuv callback of Node's loop: the one place native code enters JS.
#pragma once

#include <napi.h>

#include <functional>

namespace alk::node {

/// Calls `fn` with `args` inside a callback scope (napi_make_callback with `context`), so
/// process.nextTick callbacks and promise reactions run before it returns. Must be called from a
/// libuv callback (never from inside a JS→native call) with a HandleScope open. An exception
/// thrown by `fn` is reported like one thrown by an event listener ('uncaughtException'); when
/// the environment is terminating (worker.terminate()), the call fails silently.
void invoke(Napi::Env env, napi_async_context context, napi_value recv, napi_value fn,
            std::initializer_list<napi_value> args);

/// The JS function `info[index]` (if it is one) as a completion for native code: the returned
/// function calls it once, without arguments, through invoke() with an async context named
/// `resource` — unless the env is being torn down by then. Call the result only from a libuv
/// callback. Without a function there, the result does nothing.
std::function<void()> js_completion(const Napi::CallbackInfo& info, size_t index,
                                    const char* resource);

}  // namespace alk::node
