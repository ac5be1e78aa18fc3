// Identity lookups (fingerprint, auth_token, reload) and the access policy of a served engine.
#include "identity/peer_directory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "identity/authorizer.h"

namespace alk::identity {
namespace {

const std::string kFpCi = "SHA256:" + std::string(64, 'a');

PeersConfig sample() {
  PeersConfig c;
  PeerEntry ci;
  ci.id = "ci-runner";
  ci.fingerprints = {kFpCi};
  ci.token_hash = token_hash_of("ci-secret");
  ci.scopes = {"container:list", "container:create"};
  PeerEntry ops;
  ops.id = "ops";
  ops.token_hash = token_hash_of("ops-secret");
  ops.scopes = {"container:manage"};
  PeerEntry gone;
  gone.id = "gone";
  gone.token_hash = token_hash_of("gone-secret");
  gone.fingerprints = {"SHA256:" + std::string(64, 'b')};
  gone.enabled = false;
  c.peers = {ci, ops, gone};
  return c;
}

call::OperationSpec op(std::string name, std::string scope) {
  call::OperationSpec s;
  s.name = std::move(name);
  s.scope = std::move(scope);
  return s;
}

TEST(PeerDirectory, TokenHashIsSha256Hex) {
  // sha256("abc")
  EXPECT_EQ(token_hash_of("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PeerDirectory, FingerprintResolvesEnabledPeersOnly) {
  PeerDirectory dir(sample());
  const call::Peer ci = dir.for_fingerprint(kFpCi);
  EXPECT_EQ(ci.id, "ci-runner");
  EXPECT_FALSE(ci.is_operator);
  EXPECT_EQ(ci.scopes, (std::vector<std::string>{"container:list", "container:create"}));
  EXPECT_EQ(dir.for_fingerprint("SHA256:" + std::string(64, 'A')).id, "ci-runner");
  EXPECT_TRUE(is_anonymous(dir.for_fingerprint("SHA256:" + std::string(64, 'b'))));  // disabled
  EXPECT_TRUE(is_anonymous(dir.for_fingerprint("SHA256:" + std::string(64, 'c'))));  // unknown
  EXPECT_TRUE(is_anonymous(dir.for_fingerprint("")));
}

TEST(PeerDirectory, TokenReplacesTheConnectionPeerOnlyWhenItResolves) {
  PeerDirectory dir(sample());
  const call::Peer conn = dir.for_fingerprint(kFpCi);
  EXPECT_EQ(dir.resolve("ops-secret", anonymous_peer()).id, "ops");
  EXPECT_TRUE(dir.resolve("ops-secret", anonymous_peer()).is_operator);  // container:manage
  EXPECT_EQ(dir.resolve("wrong", conn).id, "ci-runner");                 // silently the connection
  EXPECT_TRUE(is_anonymous(dir.resolve("gone-secret", anonymous_peer())));  // disabled
  EXPECT_TRUE(is_anonymous(dir.resolve("", anonymous_peer())));
}

TEST(PeerDirectory, ReplaceTakesEffectAtTheNextLookup) {
  PeerDirectory dir(sample());
  ASSERT_EQ(dir.resolve("ci-secret", anonymous_peer()).id, "ci-runner");
  PeersConfig next = sample();
  next.peers[0].enabled = false;
  dir.replace(next);
  EXPECT_TRUE(is_anonymous(dir.resolve("ci-secret", anonymous_peer())));
  EXPECT_TRUE(is_anonymous(dir.for_fingerprint(kFpCi)));
  EXPECT_EQ(dir.resolve("ops-secret", anonymous_peer()).id, "ops");
}

// serve --label-prefix acme with a peers file that names none: the file serves under "acme", and
// so must every reload of it. (A reload compared the file's default "alknet" with "acme" and was
// refused, so a peer removed from the file kept its access until a restart.)
TEST(PeerDirectory, AReloadOfAFileWithoutLabelPrefixKeepsTheRunningPrefix) {
  const std::string path = "/tmp/alk-peer-directory-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"peers": [{"id": "ci-runner", "tokenHash": ")"
                      << token_hash_of("ci-secret") << R"(", "scopes": ["container:list"]}]})";
  PeersConfig running = sample();
  running.label_prefix = "acme";
  PeerDirectory dir(running);
  ASSERT_EQ(dir.resolve("ops-secret", anonymous_peer()).id, "ops");
  auto reloaded = dir.reload(path, PeersParseOptions{});
  ::unlink(path.c_str());
  ASSERT_TRUE(reloaded.ok()) << reloaded.error();
  EXPECT_EQ(reloaded.value(), 1u);
  EXPECT_EQ(dir.label_prefix(), "acme");
  EXPECT_TRUE(is_anonymous(dir.resolve("ops-secret", anonymous_peer())));  // removed: no access
  EXPECT_EQ(dir.resolve("ci-secret", anonymous_peer()).id, "ci-runner");
}

TEST(PeerDirectory, AReloadThatNamesAnotherLabelPrefixIsRefused) {
  const std::string path = "/tmp/alk-peer-directory-other-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"labelPrefix": "other", "peers": []})";
  PeersConfig running = sample();
  running.label_prefix = "acme";
  PeerDirectory dir(running);
  auto reloaded = dir.reload(path, PeersParseOptions{});
  ::unlink(path.c_str());
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.error().find("cannot change from \"acme\" to \"other\""), std::string::npos)
      << reloaded.error();
  EXPECT_EQ(dir.resolve("ops-secret", anonymous_peer()).id, "ops");  // the old peers stay
}

TEST(Authorizer, OperatorsMayCallEverything) {
  call::Peer local;  // the default peer is the local operator
  EXPECT_FALSE(authorize(local, op("docker/container/create", "container:create")));
  EXPECT_FALSE(authorize(local, op("docker/system/version", "")));
}

TEST(Authorizer, AnonymousCallersGetPingAndDiscoveryOnly) {
  const call::Peer anon = anonymous_peer();
  EXPECT_FALSE(authorize(anon, op("docker/system/ping", "")));
  EXPECT_FALSE(authorize(anon, op("services/list", "")));
  EXPECT_FALSE(authorize(anon, op("services/schema", "")));
  for (const auto& spec :
       {op("docker/system/version", ""), op("docker/container/list", "container:list")}) {
    auto denied = authorize(anon, spec);
    ASSERT_TRUE(denied) << spec.name;
    EXPECT_EQ(denied->code, "FORBIDDEN");
    EXPECT_EQ(denied->message, "authentication required");
  }
}

TEST(Authorizer, PeersNeedTheOperationsScope) {
  PeerDirectory dir(sample());
  const call::Peer ci = dir.for_fingerprint(kFpCi);
  EXPECT_FALSE(authorize(ci, op("docker/container/create", "container:create")));
  EXPECT_FALSE(authorize(ci, op("docker/system/version", "")));
  auto denied = authorize(ci, op("docker/container/exec", "container:exec"));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->code, "FORBIDDEN");
  EXPECT_EQ(denied->message, "missing required scope: container:exec");
}

TEST(Authorizer, ServicesListShowsWhatThePeerMayCall) {
  call::Registry registry;
  call::add_discovery_operations(registry);
  auto noop = [](const call::CallRequest&, call::CallSink&) -> std::unique_ptr<call::Handler> {
    return nullptr;
  };
  for (auto spec : {op("docker/system/ping", ""), op("docker/container/list", "container:list"),
                    op("docker/container/exec", "container:exec")}) {
    spec.factory = noop;
    registry.add(spec);
  }
  registry.set_authorizer(authorize);
  auto names = [&](const call::Peer& p) {
    std::vector<std::string> out;
    for (const auto& e : registry.list(p)) out.push_back(e["name"]);
    return out;
  };
  EXPECT_EQ(names(anonymous_peer()),
            (std::vector<std::string>{"docker/system/ping", "services/list", "services/schema"}));
  PeerDirectory dir(sample());
  EXPECT_EQ(names(dir.for_fingerprint(kFpCi)),
            (std::vector<std::string>{"docker/container/list", "docker/system/ping",
                                      "services/list", "services/schema"}));
  EXPECT_EQ(names(call::Peer{}).size(), 5u);
  const auto known = known_scopes(registry);
  EXPECT_TRUE(known.count("container:exec"));
  EXPECT_TRUE(known.count("container:manage"));
  EXPECT_TRUE(known.count("container:bind"));
}

}  // namespace
}  // namespace alk::identity
