// Reading the options object a JS constructor was given (native.Engine, native.QuicConnection).
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace alk::node {

/// options[name] when it is a string, else "".
inline std::string string_option(const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

/// options[name] as a non-negative integer (milliseconds, a count): `fallback` when it is absent
/// (undefined or null), nullopt when it is anything but such an integer.
inline std::optional<uint64_t> uint_option(const Napi::Object& options, const char* name,
                                           uint64_t fallback) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) return std::nullopt;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(d);
}

}  // namespace alk::node
