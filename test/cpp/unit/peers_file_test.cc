// The peers file: what it accepts, and errors that name the file, the line and the field at fault.
#include "identity/peers_file.h"

#include <gtest/gtest.h>

#include <string>

namespace alk::identity {
namespace {

const std::string kFp = "SHA256:" + std::string(64, 'a');
const std::string kFp2 = "SHA256:" + std::string(64, 'b');
const std::string kHash = "sha256:" + std::string(64, 'c');

std::string error_of(const std::string& text, PeersParseOptions options = {}) {
  options.source = "peers.json";
  auto r = parse_peers(text, options);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error();
}

TEST(PeersFile, ParsesAFullFile) {
  const std::string text = R"({
  "labelPrefix": "acme",
  "peers": [
    {"id": "ci-runner", "displayName": "CI", "fingerprints": ["SHA256:)" +
                           std::string(64, 'A') + R"("],
     "tokenHash": ")" + kHash +
                           R"(", "scopes": ["container:create", "container:create"],
     "enabled": true},
    {"id": "ops", "tokenHash": "sha256:)" +
                           std::string(64, 'd') +
                           R"(", "scopes": ["container:manage"]},
    {"id": "old", "enabled": false}
  ]
})";
  auto r = parse_peers(text);
  ASSERT_TRUE(r.ok()) << r.error();
  const PeersConfig& c = r.value();
  EXPECT_EQ(c.label_prefix, "acme");
  EXPECT_TRUE(c.label_prefix_set);
  ASSERT_EQ(c.peers.size(), 3u);
  EXPECT_EQ(c.peers[0].id, "ci-runner");
  EXPECT_EQ(c.peers[0].display_name, "CI");
  EXPECT_EQ(c.peers[0].fingerprints, std::vector<std::string>{kFp});  // hex lowercased
  EXPECT_EQ(c.peers[0].token_hash, kHash);
  EXPECT_EQ(c.peers[0].scopes, std::vector<std::string>{"container:create"});  // deduplicated
  EXPECT_TRUE(c.peers[0].enabled);
  EXPECT_FALSE(c.peers[2].enabled);
}

TEST(PeersFile, DefaultsThePrefixAndAcceptsNoPeers) {
  auto r = parse_peers(R"({"peers": []})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().label_prefix, "alknet");
  EXPECT_FALSE(r.value().label_prefix_set);
}

TEST(PeersFile, SyntaxErrorNamesLineAndColumn) {
  const std::string e = error_of("{\n  \"peers\": [\n    {\"id\": \"a\",}\n  ]\n}");
  EXPECT_EQ(e.rfind("peers.json:3:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid JSON"), std::string::npos) << e;
  EXPECT_EQ(error_of("").rfind("peers.json:1:", 0), 0u);
}

TEST(PeersFile, WrongTypeNamesPathAndLine) {
  const std::string text =
      "{\"peers\": [\n"
      "  {\"id\": \"a\", \"tokenHash\": \"" +
      kHash +
      "\"},\n"
      "  {\"id\": \"b\", \"tokenHash\": \"sha256:" +
      std::string(64, 'e') +
      "\",\n"
      "   \"scopes\": [\n"
      "     \"container:list\",\n"
      "     7]}\n"
      "]}";
  EXPECT_EQ(error_of(text), "peers.json:6: peers[1].scopes[1]: expected a string, got number");
}

TEST(PeersFile, UnknownFieldsAreErrors) {
  EXPECT_EQ(error_of("{\"peers\": [], \"peer\": 1}"),
            "peers.json:1: peer: unknown field (allowed: labelPrefix, peers)");
  const std::string e = error_of("{\"peers\": [\n{\"id\": \"a\", \"token\": \"x\"}]}");
  EXPECT_EQ(e.rfind("peers.json:2: peers[0].token: unknown field", 0), 0u) << e;
}

TEST(PeersFile, MissingFields) {
  EXPECT_EQ(error_of("{}"), "peers.json:1: (root): missing required field \"peers\"");
  EXPECT_EQ(error_of("[]"), "peers.json:1: (root): expected an object, got array");
  EXPECT_EQ(error_of("{\"peers\": [\n  {\"scopes\": []}]}"),
            "peers.json:2: peers[0]: missing required field \"id\"");
  const std::string e = error_of("{\"peers\": [{\"id\": \"lonely\"}]}");
  EXPECT_NE(e.find("peers[0]: peer \"lonely\" has neither fingerprints nor tokenHash"),
            std::string::npos)
      << e;
}

TEST(PeersFile, MalformedCredentials) {
  std::string e = error_of("{\"peers\": [{\"id\": \"a\", \"fingerprints\": [\"AB:CD\"]}]}");
  EXPECT_NE(e.find("peers[0].fingerprints[0]: expected \"SHA256:\""), std::string::npos) << e;
  e = error_of("{\"peers\": [{\"id\": \"a\", \"tokenHash\": \"md5:00\"}]}");
  EXPECT_NE(e.find("peers[0].tokenHash: expected \"sha256:\""), std::string::npos) << e;
  e = error_of("{\"peers\": [{\"id\": \"a b\", \"tokenHash\": \"" + kHash + "\"}]}");
  EXPECT_NE(e.find("peers[0].id: expected 1-128 characters"), std::string::npos) << e;
  e = error_of("{\"peers\": [{\"id\": \"local\", \"tokenHash\": \"" + kHash + "\"}]}");
  EXPECT_NE(e.find("peers[0].id: \"local\" is reserved"), std::string::npos) << e;
  e = error_of("{\"labelPrefix\": \"a b\", \"peers\": []}");
  EXPECT_NE(e.find("labelPrefix: expected"), std::string::npos) << e;
  e = error_of("{\"peers\": [{\"id\": \"a\", \"enabled\": \"yes\", \"tokenHash\": \"" + kHash +
               "\"}]}");
  EXPECT_NE(e.find("peers[0].enabled: expected a boolean, got string"), std::string::npos) << e;
}

TEST(PeersFile, DuplicatesNameBothPlaces) {
  const std::string text =
      "{\"peers\": [\n"
      "  {\"id\": \"a\", \"fingerprints\": [\"" +
      kFp +
      "\"]},\n"
      "  {\"id\": \"b\", \"fingerprints\": [\"" +
      kFp2 +
      "\",\n"
      "     \"" +
      kFp +
      "\"]}\n"
      "]}";
  EXPECT_EQ(error_of(text),
            "peers.json:4: peers[1].fingerprints[1]: duplicate fingerprint (already at "
            "peers[0].fingerprints[0], line 2)");
  const std::string ids =
      "{\"peers\": [\n"
      "  {\"id\": \"a\", \"tokenHash\": \"" +
      kHash +
      "\"},\n"
      "  {\"id\": \"a\", \"fingerprints\": [\"" +
      kFp + "\"]}]}";
  EXPECT_EQ(error_of(ids),
            "peers.json:3: peers[1].id: duplicate peer id (already at peers[0].id, line 2)");
  const std::string tokens =
      "{\"peers\": [\n"
      "  {\"id\": \"a\", \"tokenHash\": \"" +
      kHash +
      "\"},\n"
      "  {\"id\": \"b\", \"tokenHash\": \"" +
      kHash + "\"}]}";
  EXPECT_NE(error_of(tokens).find("peers[1].tokenHash: duplicate tokenHash"), std::string::npos);
  // A key given twice in one object is refused rather than silently keeping one of them.
  const std::string keys = "{\"peers\": [{\"id\": \"a\",\n \"id\": \"b\"}]}";
  EXPECT_EQ(error_of(keys),
            "peers.json:2: peers[0].id: duplicate key (the object starts on line 1)");
}

TEST(PeersFile, ScopesAreCheckedAgainstTheKnownOnes) {
  PeersParseOptions options;
  options.known_scopes = {"container:create", "container:list"};
  const std::string text = "{\"peers\": [{\"id\": \"a\", \"tokenHash\": \"" + kHash +
                           "\",\n \"scopes\": [\"container:list\", \"container:creat\"]}]}";
  const std::string e = error_of(text, options);
  EXPECT_EQ(e.rfind("peers.json:2: peers[0].scopes[1]: unknown scope \"container:creat\"", 0), 0u)
      << e;
  EXPECT_NE(error_of("{\"peers\": [{\"id\": \"a\", \"tokenHash\": \"" + kHash +
                     "\", \"scopes\": [\"Container list\"]}]}")
                .find("is not a scope"),
            std::string::npos);
}

TEST(PeersFile, LoadNamesTheFile) {
  auto r = load_peers_file("/nonexistent/peers.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/peers.json"), std::string::npos);
}

}  // namespace
}  // namespace alk::identity
