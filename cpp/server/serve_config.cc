#include "server/serve_config.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/call_client.h"

namespace alk::server {

namespace {

using nlohmann::json;

std::string field_error(const std::string& field, const std::string& problem) {
  return field + ": " + problem;
}

Result<std::string, std::string> string_field(const json& v, const std::string& field) {
  if (!v.is_string()) return unexpected(field_error(field, "expected a string"));
  std::string s = v.get<std::string>();
  if (s.empty()) return unexpected(field_error(field, "must not be empty"));
  return s;
}

Result<uint64_t, std::string> count_field(const json& v, const std::string& field) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return unexpected(field_error(field, "expected a whole number of milliseconds"));
  }
  if (v.is_number_integer() && v.get<int64_t>() < 0) {
    return unexpected(field_error(field, "must not be negative"));
  }
  return v.get<uint64_t>();
}

Result<bool, std::string> readable(const std::string& flag, const std::string& file) {
  if (file.empty()) return true;
  if (::access(file.c_str(), R_OK) != 0) {
    return unexpected(field_error(flag, "cannot read " + file + ": " + std::strerror(errno)));
  }
  return true;
}

}  // namespace

Result<bool, std::string> load_serve_config(const std::string& path, ServeOptions& options) {
  std::ifstream in(path);
  if (!in) return unexpected(path + ": cannot read: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::parse_error& e) {
    return unexpected(path + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) return unexpected(path + ": expected a JSON object");
  auto fail = [&](const std::string& message) { return unexpected(path + ": " + message); };
  for (const auto& [key, value] : doc.items()) {
    if (key == "listen") {
      std::vector<std::string> listen;
      if (value.is_string()) {
        listen.push_back(value.get<std::string>());
      } else if (value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i) {
          const std::string field = "listen[" + std::to_string(i) + "]";
          if (!value[i].is_string()) return fail(field_error(field, "expected an address string"));
          listen.push_back(value[i].get<std::string>());
        }
      } else {
        return fail(field_error("listen", "expected an array of addresses"));
      }
      if (listen.empty()) return fail(field_error("listen", "must name at least one address"));
      for (size_t i = 0; i < listen.size(); ++i) {
        auto parsed = client::parse_address(listen[i]);
        if (!parsed) return fail(field_error("listen[" + std::to_string(i) + "]", parsed.error()));
      }
      options.listen = std::move(listen);
    } else if (key == "cert" || key == "key" || key == "clientCa" || key == "dockerHost" ||
               key == "labelPrefix" || key == "peers") {
      auto s = string_field(value, key);
      if (!s) return fail(s.error());
      if (key == "cert") options.cert = s.value();
      if (key == "key") options.key = s.value();
      if (key == "clientCa") options.client_ca = s.value();
      if (key == "dockerHost") options.docker_host = s.value();
      if (key == "labelPrefix") options.label_prefix = s.value();
      if (key == "peers") options.peers_file = s.value();
    } else if (key == "clientAuth") {
      if (!value.is_string() || (value != "require" && value != "optional")) {
        return fail(field_error(key, "expected \"require\" or \"optional\""));
      }
      options.client_cert_optional = value == "optional";
    } else if (key == "idleTimeoutMs" || key == "keepAliveMs") {
      auto n = count_field(value, key);
      if (!n) return fail(n.error());
      (key == "idleTimeoutMs" ? options.idle_timeout_ms : options.keep_alive_ms) = n.value();
    } else if (key == "maxStreams") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
          value.get<uint64_t>() > (uint64_t{1} << 20)) {
        return fail(field_error(key, "expected a whole number from 1 to 1048576"));
      }
      options.max_streams = value.get<uint64_t>();
    } else if (key == "shutdownGraceS") {
      if (!value.is_number() || value.get<double>() < 0) {
        return fail(field_error(key, "expected a number of seconds (0 or more)"));
      }
      options.shutdown_grace_s = value.get<double>();
    } else if (key == "quiet") {
      if (!value.is_boolean()) return fail(field_error(key, "expected true or false"));
      options.quiet = value.get<bool>();
    } else {
      return fail("unknown field \"" + key +
                  "\" (known: listen, cert, key, clientCa, clientAuth, dockerHost, labelPrefix, "
                  "peers, idleTimeoutMs, keepAliveMs, maxStreams, shutdownGraceS, quiet)");
    }
  }
  return true;
}

Result<bool, std::string> validate_serve_options(const ServeOptions& options) {
  if (options.listen.empty()) {
    return unexpected(std::string(
        "listen: nothing to listen on (--listen unix:///path or --listen quic://host:port)"));
  }
  bool quic = false;
  for (size_t i = 0; i < options.listen.size(); ++i) {
    auto parsed = client::parse_address(options.listen[i]);
    if (!parsed) return unexpected(field_error("listen", parsed.error()));
    quic = quic || parsed->kind == client::Address::Kind::quic;
  }
  if (quic) {
    if (options.cert.empty() || options.key.empty()) {
      return unexpected(std::string(
          "cert/key: a quic:// listener needs the server certificate and key (--cert, --key)"));
    }
    if (options.client_ca.empty()) {
      return unexpected(
          std::string("clientCa: a quic:// listener needs the CA that signs client certificates "
                      "(--client-ca): every authenticated peer is an operator"));
    }
  }
  for (const auto& [flag, file] : {std::pair<std::string, std::string>{"cert", options.cert},
                                   {"key", options.key},
                                   {"clientCa", options.client_ca},
                                   {"peers", options.peers_file}}) {
    auto ok = readable(flag, file);
    if (!ok) return ok;
  }
  if (options.keep_alive_ms > 0 && options.idle_timeout_ms > 0 &&
      options.keep_alive_ms >= options.idle_timeout_ms) {
    return unexpected(std::string("keepAliveMs: must be shorter than idleTimeoutMs"));
  }
  return true;
}

}  // namespace alk::server
