#include "identity/peer_directory.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cctype>

namespace alk::identity {

call::Peer anonymous_peer() {
  call::Peer p;
  p.id = std::string(kAnonymousPeerId);
  p.scopes.clear();
  p.is_operator = false;
  return p;
}

bool is_anonymous(const call::Peer& peer) {
  return !peer.is_operator && (peer.id.empty() || peer.id == kAnonymousPeerId);
}

std::string token_hash_of(std::string_view token) {
  unsigned char digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, token.data(), token.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char b : digest) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

PeerDirectory::PeerDirectory(PeersConfig config) : snapshot_(index(std::move(config))) {}

void PeerDirectory::replace(PeersConfig config) {
  auto next = index(std::move(config));
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const PeerDirectory::Snapshot> PeerDirectory::index(PeersConfig config) {
  auto s = std::make_shared<Snapshot>();
  s->config = std::move(config);
  for (size_t i = 0; i < s->config.peers.size(); ++i) {
    const PeerEntry& p = s->config.peers[i];
    if (!p.enabled) continue;
    for (const auto& fp : p.fingerprints) s->by_fingerprint.emplace(fp, i);
    if (!p.token_hash.empty()) s->by_token_hash.emplace(p.token_hash, i);
  }
  return s;
}

std::shared_ptr<const PeerDirectory::Snapshot> PeerDirectory::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

call::Peer PeerDirectory::to_peer(const PeerEntry& entry) {
  call::Peer p;
  p.id = entry.id;
  p.scopes = entry.scopes;
  p.is_operator = std::find(p.scopes.begin(), p.scopes.end(), kOperatorScope) != p.scopes.end();
  return p;
}

call::Peer PeerDirectory::for_fingerprint(const std::string& fingerprint) const {
  // The file's hex is lowercased; accept a fingerprint in any hex case.
  std::string key = fingerprint;
  const size_t colon = key.find(':');
  if (colon != std::string::npos) {
    for (size_t i = colon + 1; i < key.size(); ++i) {
      key[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[i])));
    }
  }
  auto snapshot = current();
  auto it = snapshot->by_fingerprint.find(key);
  if (it == snapshot->by_fingerprint.end()) return anonymous_peer();
  return to_peer(snapshot->config.peers[it->second]);
}

std::optional<call::Peer> PeerDirectory::for_token(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const std::string hash = token_hash_of(token);
  auto snapshot = current();
  auto it = snapshot->by_token_hash.find(hash);
  if (it == snapshot->by_token_hash.end()) return std::nullopt;
  return to_peer(snapshot->config.peers[it->second]);
}

call::Peer PeerDirectory::resolve(const std::string& token,
                                  const call::Peer& connection_peer) const {
  if (auto p = for_token(token)) return std::move(*p);
  return connection_peer;
}

Result<size_t, std::string> PeerDirectory::reload(const std::string& path,
                                                  const PeersParseOptions& options) {
  auto loaded = load_peers_file(path, options);
  if (!loaded) return unexpected(std::move(loaded).error());
  const std::string running = label_prefix();
  // A file without labelPrefix serves under the running prefix (the --label-prefix flag's, as at
  // start), not the default: else every reload of it would be refused under a flag-set prefix.
  if (!loaded.value().label_prefix_set) loaded.value().label_prefix = running;
  if (loaded.value().label_prefix != running) {
    return unexpected(path + ": labelPrefix: cannot change from \"" + running + "\" to \"" +
                      loaded.value().label_prefix + "\" while serving (restart the server)");
  }
  const size_t n = loaded.value().peers.size();
  replace(std::move(loaded).value());
  return n;
}

std::string PeerDirectory::label_prefix() const {
  return current()->config.label_prefix;
}

size_t PeerDirectory::size() const {
  return current()->config.peers.size();
}

}  // namespace alk::identity
