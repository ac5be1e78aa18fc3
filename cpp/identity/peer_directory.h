// Who a connection or a request is: the peers file turned into lookups, swapped whole on reload.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "call/operation.h"
#include "identity/peers_file.h"

namespace alk::identity {

/// The operator scope: a peer holding it may call everything and touch every container.
inline constexpr std::string_view kOperatorScope = "container:manage";

/// A caller with no identity: id "anonymous", no scopes, not an operator.
call::Peer anonymous_peer();
/// True for anonymous_peer() (and for a non-operator with an empty id).
bool is_anonymous(const call::Peer& peer);

/// "sha256:<lowercase hex of sha256(token)>", the form of a peers file's tokenHash.
std::string token_hash_of(std::string_view token);

/// The peers of the current peers file. Lookups return a copy of the peer as the file says now, so
/// a reload (replace()) takes effect at each caller's next call; calls already running keep the
/// identity they started with. Thread-safe.
class PeerDirectory {
 public:
  explicit PeerDirectory(PeersConfig config);

  /// Swaps in a new file's peers.
  void replace(PeersConfig config);

  /// The enabled peer with this client-certificate fingerprint ("SHA256:<hex>", any hex case), or
  /// anonymous_peer().
  call::Peer for_fingerprint(const std::string& fingerprint) const;

  /// The enabled peer whose tokenHash is sha256(token), or nullopt (unknown or disabled).
  std::optional<call::Peer> for_token(std::string_view token) const;

  /// alknet's per-request rule: the token's peer when `token` resolves, else `connection_peer`
  /// (silently; a bad token is not an error). Fits call::SessionEnv::resolve_token.
  call::Peer resolve(const std::string& token, const call::Peer& connection_peer) const;

  /// Loads `path` and swaps it in; on any error (malformed file, or a labelPrefix other than
  /// the running one) keeps the current peers and returns the error. A file that names no
  /// labelPrefix keeps the running one. Returns the peer count.
  Result<size_t, std::string> reload(const std::string& path, const PeersParseOptions& options);

  /// The label prefix the file named (or the default).
  std::string label_prefix() const;
  size_t size() const;

 private:
  struct Snapshot {
    PeersConfig config;
    std::unordered_map<std::string, size_t> by_fingerprint;
    std::unordered_map<std::string, size_t> by_token_hash;
  };
  static std::shared_ptr<const Snapshot> index(PeersConfig config);
  std::shared_ptr<const Snapshot> current() const;
  static call::Peer to_peer(const PeerEntry& entry);

  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace alk::identity
