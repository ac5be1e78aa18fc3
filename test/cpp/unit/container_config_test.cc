// The create input: schema, the Engine API body, ownership labels and the create policy.
#include "ops/container_config.h"

#include <gtest/gtest.h>

#include <ostream>

#include "call/schema.h"

namespace alk::ops {
namespace {

using nlohmann::json;

call::Peer operator_peer() {
  return call::Peer{};
}

call::Peer user(std::vector<std::string> scopes = {}) {
  call::Peer p;
  p.id = "SHA256:abc";
  p.is_operator = false;
  p.scopes = std::move(scopes);
  return p;
}

std::optional<call::SchemaViolation> check(const json& input) {
  return call::validate(create_input_schema(), input);
}

TEST(CreateSchema, AcceptsAFullInput) {
  const json input = {{"image", "busybox"},
                      {"command", {"sh", "-c", "echo hi"}},
                      {"entrypoint", {"/bin/sh"}},
                      {"env", {{"A", "1"}}},
                      {"labels", {{"team", "x"}}},
                      {"name", "c1"},
                      {"workingDir", "/tmp"},
                      {"user", "1000"},
                      {"hostname", "h"},
                      {"tty", true},
                      {"openStdin", true},
                      {"stdinOnce", true},
                      {"attachStdin", true},
                      {"attachStdout", true},
                      {"attachStderr", true},
                      {"binds", {"vol:/data"}},
                      {"networkMode", "none"},
                      {"memory", 64 << 20},
                      {"cpus", 0.5},
                      {"autoRemove", true},
                      {"privileged", false},
                      {"capAdd", json::array()},
                      {"devices", json::array()},
                      {"pidMode", ""},
                      {"ipcMode", "private"},
                      {"utsMode", ""},
                      {"securityOpt", json::array()},
                      {"readOnly", true},
                      {"init", true},
                      {"stopSignal", "SIGTERM"},
                      {"stopTimeout", 5},
                      {"restartPolicy", {{"name", "on-failure"}, {"maximumRetryCount", 3}}}};
  EXPECT_EQ(check(input), std::nullopt);
}

TEST(CreateSchema, NamesTheFieldAtFault) {
  auto v = check(json::object());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "image");

  v = check({{"image", "busybox"}, {"command", "echo hi"}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "command");

  v = check({{"image", "busybox"}, {"command", {"echo", 1}}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "command[1]");

  v = check({{"image", "busybox"}, {"env", {{"A", 1}}}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "env.A");

  v = check({{"image", "busybox"}, {"comand", {"x"}}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "comand");

  v = check({{"image", "busybox"}, {"memory", -1}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "memory");

  v = check({{"image", "busybox"}, {"restartPolicy", {{"name", "sometimes"}}}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "restartPolicy.name");
}

TEST(CreateBody, MapsFieldsToTheEngineApi) {
  const json input = {{"image", "busybox"},
                      {"command", {"sh", "-c", "exit 3"}},
                      {"env", {{"A", "1"}, {"B", "x=y"}}},
                      {"workingDir", "/tmp"},
                      {"tty", true},
                      {"openStdin", true},
                      {"binds", {"vol:/data:ro"}},
                      {"networkMode", "none"},
                      {"memory", 1048576},
                      {"cpus", 1.5},
                      {"readOnly", true},
                      {"autoRemove", true},
                      {"name", "c1"},
                      {"restartPolicy", {{"name", "always"}}}};
  auto body = build_create_body(input, operator_peer(), "alknet");
  ASSERT_TRUE(body) << body.error().message;
  const json& b = body.value();
  EXPECT_EQ(b["Image"], "busybox");
  EXPECT_EQ(b["Cmd"], json({"sh", "-c", "exit 3"}));
  EXPECT_EQ(b["Env"], json({"A=1", "B=x=y"}));
  EXPECT_EQ(b["WorkingDir"], "/tmp");
  EXPECT_EQ(b["Tty"], true);
  EXPECT_EQ(b["OpenStdin"], true);
  const json& h = b["HostConfig"];
  EXPECT_EQ(h["Binds"], json({"vol:/data:ro"}));
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_EQ(h["Memory"], 1048576);
  EXPECT_EQ(h["NanoCpus"], 1500000000);
  EXPECT_EQ(h["ReadonlyRootfs"], true);
  EXPECT_EQ(h["RestartPolicy"], json({{"Name", "always"}, {"MaximumRetryCount", 0}}));
  // run removes the container itself; the daemon must not race it for the exit code.
  EXPECT_FALSE(h.contains("AutoRemove"));
  EXPECT_FALSE(b.contains("name"));
  EXPECT_FALSE(b.contains("Name"));
}

TEST(CreateBody, ParsesDevicesLikeTheCli) {
  const json input = {{"image", "busybox"},
                      {"devices", {"/dev/fuse", "/dev/a:/dev/b", "/dev/c:r", "/dev/d:/dev/e:rw"}}};
  auto body = build_create_body(input, operator_peer(), "alknet");
  ASSERT_TRUE(body);
  const json& d = body.value()["HostConfig"]["Devices"];
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], json({{"PathOnHost", "/dev/fuse"},
                        {"PathInContainer", "/dev/fuse"},
                        {"CgroupPermissions", "rwm"}}));
  EXPECT_EQ(d[1]["PathInContainer"], "/dev/b");
  EXPECT_EQ(d[2]["PathInContainer"], "/dev/c");
  EXPECT_EQ(d[2]["CgroupPermissions"], "r");
  EXPECT_EQ(d[3]["CgroupPermissions"], "rw");

  auto bad = build_create_body({{"image", "busybox"}, {"devices", {"/dev/a:/dev/b:xyz"}}},
                               operator_peer(), "alknet");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "INVALID_INPUT");
  EXPECT_EQ(bad.error().details["field"], "devices[0]");
}

TEST(CreateBody, StampsOwnershipLabels) {
  auto body =
      build_create_body({{"image", "busybox"}, {"labels", {{"team", "x"}}}}, user(), "acme");
  ASSERT_TRUE(body);
  const json& labels = body.value()["Labels"];
  EXPECT_EQ(labels["team"], "x");
  EXPECT_EQ(labels["acme.managed"], "true");
  EXPECT_EQ(labels["acme.owner"], "SHA256:abc");

  auto local = build_create_body({{"image", "busybox"}}, operator_peer(), "alknet");
  ASSERT_TRUE(local);
  EXPECT_EQ(local.value()["Labels"]["alknet.owner"], "local");
}

TEST(CreateBody, RefusesForgedOwnershipLabels) {
  for (const char* key : {"alknet.owner", "alknet.managed", "alknet.anything"}) {
    for (const call::Peer& peer : {user(), operator_peer()}) {
      auto body = build_create_body({{"image", "busybox"}, {"labels", {{key, "someone-else"}}}},
                                    peer, "alknet");
      ASSERT_FALSE(body) << key;
      EXPECT_EQ(body.error().code, "INVALID_INPUT");
      EXPECT_EQ(body.error().details["field"], std::string("labels.") + key);
    }
  }
  // Only the configured prefix is reserved.
  EXPECT_TRUE(build_create_body({{"image", "busybox"}, {"labels", {{"alknetx.owner", "a"}}}},
                                user(), "alknet"));
}

TEST(CreateBody, RefusesBadEnvNames) {
  auto body = build_create_body({{"image", "busybox"}, {"env", {{"A=B", "1"}}}}, user(), "alknet");
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, "INVALID_INPUT");
  EXPECT_EQ(body.error().details["field"], "env.A=B");
}

struct PolicyCase {
  json extra;
  std::string field;
  std::string scope;
};

// gtest would otherwise print the struct's raw bytes, padding included (valgrind flags those).
void PrintTo(const PolicyCase& c, std::ostream* os) {
  *os << c.field << " needs " << c.scope;
}

class CreatePolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(CreatePolicy, NeedsTheScope) {
  const PolicyCase& c = GetParam();
  json input = {{"image", "busybox"}};
  input.update(c.extra);

  auto refused = build_create_body(input, user({"container:create"}), "alknet");
  ASSERT_FALSE(refused) << input.dump();
  EXPECT_EQ(refused.error().code, "FORBIDDEN");
  EXPECT_EQ(refused.error().message, c.field + ": missing required scope: " + c.scope);
  EXPECT_EQ(refused.error().details["field"], c.field);

  EXPECT_TRUE(build_create_body(input, user({c.scope}), "alknet")) << c.scope;
  EXPECT_TRUE(build_create_body(input, operator_peer(), "alknet"));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, CreatePolicy,
    ::testing::Values(
        PolicyCase{{{"privileged", true}}, "privileged", "container:privileged"},
        PolicyCase{{{"networkMode", "host"}}, "networkMode", "container:host-namespaces"},
        PolicyCase{{{"pidMode", "host"}}, "pidMode", "container:host-namespaces"},
        PolicyCase{{{"ipcMode", "host"}}, "ipcMode", "container:host-namespaces"},
        PolicyCase{{{"utsMode", "host"}}, "utsMode", "container:host-namespaces"},
        PolicyCase{{{"pidMode", "container:other"}}, "pidMode", "container:host-namespaces"},
        PolicyCase{{{"devices", {"/dev/fuse"}}}, "devices", "container:devices"},
        PolicyCase{{{"capAdd", {"NET_ADMIN"}}}, "capAdd", "container:capabilities"},
        PolicyCase{
            {{"securityOpt", {"seccomp=unconfined"}}}, "securityOpt", "container:security-opt"},
        PolicyCase{{{"binds", {"vol:/v", "/etc:/host-etc:ro"}}}, "binds[1]", "container:bind"},
        PolicyCase{{{"binds", {"./rel:/x"}}}, "binds[0]", "container:bind"}));

TEST(CreatePolicyDefaults, HarmlessSettingsNeedNoScope) {
  const json input = {
      {"image", "busybox"},           {"privileged", false},
      {"networkMode", "none"},        {"ipcMode", "private"},
      {"capAdd", json::array()},      {"devices", json::array()},
      {"securityOpt", json::array()}, {"binds", {"data:/data", "my_vol-1.x:/x:ro", "/anonymous"}}};
  auto body = build_create_body(input, user({"container:create"}), "alknet");
  EXPECT_TRUE(body) << body.error().message;
}

}  // namespace
}  // namespace alk::ops
