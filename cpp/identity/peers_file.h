// The peers file: who may connect, as which peer id, with which scopes.
//
//   {"labelPrefix": "alknet",
//    "peers": [{"id": "ci-runner", "fingerprints": ["SHA256:<64 hex>"],
//               "tokenHash": "sha256:<64 hex>", "scopes": ["container:create"], "enabled": true}]}
//
// Parsing is strict: unknown fields, wrong types, malformed fingerprints or hashes, unknown
// scopes, repeated keys and duplicate ids, fingerprints or token hashes are all errors, each
// naming the file, the line and the JSON path at fault ("peers.json:14: peers[2].scopes[0]:
// expected a string").
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace alk::identity {

/// One peer of the file.
struct PeerEntry {
  std::string id;                         ///< the peer id (owner label value, audit lines)
  std::string display_name;               ///< optional, for people
  std::vector<std::string> fingerprints;  ///< "SHA256:<hex>" / "ed25519:<hex>", hex lowercased
  std::string token_hash;                 ///< "sha256:<hex>" of the auth_token, lowercased; or ""
  std::vector<std::string> scopes;
  bool enabled = true;
};

/// A parsed peers file.
struct PeersConfig {
  std::string label_prefix = "alknet";
  bool label_prefix_set = false;  ///< the file named one
  std::vector<PeerEntry> peers;
};

/// What parsing checks besides the format.
struct PeersParseOptions {
  std::string source = "peers file";  ///< file name used in error messages
  /// Scopes a peer may be granted; empty = any well-formed scope ("word:word").
  std::set<std::string> known_scopes;
};

/// Ids that name built-in identities and cannot be given to a peer.
inline constexpr std::string_view kLocalPeerId = "local";
inline constexpr std::string_view kAnonymousPeerId = "anonymous";

/// Parses and validates the text of a peers file.
Result<PeersConfig, std::string> parse_peers(std::string_view text,
                                             const PeersParseOptions& options = {});

/// Reads `path` and parses it (options.source defaults to the path).
Result<PeersConfig, std::string> load_peers_file(const std::string& path,
                                                 PeersParseOptions options = {});

}  // namespace alk::identity
