// The pure parts of the ownership check and of the JSON-lines splitter.
#include "ops/ownership.h"

#include <gtest/gtest.h>

namespace alk::ops {
namespace {

using nlohmann::json;

TEST(ContainerPath, AcceptsIdsAndNames) {
  EXPECT_EQ(container_path({{"containerId", "abc123"}}, "/json").value(),
            "/containers/abc123/json");
  EXPECT_EQ(container_path({{"containerId", "/my_name-1.x"}}).value(), "/containers/my_name-1.x");
}

TEST(ContainerPath, RefusesWhatCouldSteerTheRequest) {
  for (const char* bad : {"", "/", "a/b", "../images/json", "..", "a?b", "a b", "a%2F", "é"}) {
    auto p = container_path({{"containerId", bad}});
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, "INVALID_INPUT");
    EXPECT_EQ(p.error().details["field"], "containerId");
  }
}

TEST(Ownership, OnlyTheOwnerLabelCounts) {
  Services services;
  services.label_prefix = "acme";
  call::Peer peer;
  peer.id = "SHA256:aa";
  peer.is_operator = false;
  const json mine = {{"Config", {{"Labels", {{"acme.owner", "SHA256:aa"}}}}}};
  const json theirs = {{"Config", {{"Labels", {{"acme.owner", "SHA256:bb"}}}}}};
  const json other_prefix = {{"Config", {{"Labels", {{"alknet.owner", "SHA256:aa"}}}}}};
  const json unlabelled = {{"Config", {{"Labels", nullptr}}}};
  EXPECT_TRUE(may_touch(services, peer, mine));
  EXPECT_FALSE(may_touch(services, peer, theirs));
  EXPECT_FALSE(may_touch(services, peer, other_prefix));
  EXPECT_FALSE(may_touch(services, peer, unlabelled));
  EXPECT_FALSE(may_touch(services, peer, json::object()));
  EXPECT_TRUE(may_touch(services, call::Peer{}, theirs));  // operators touch everything
  EXPECT_EQ(owner_label(services, peer), "acme.owner=SHA256:aa");

  auto e = not_owner_error("web");
  EXPECT_EQ(e.code, "FORBIDDEN");
  EXPECT_EQ(e.message, "not owner of resource: container/web");
}

TEST(Ownership, LabelFilterIsAddedToTheCallersFilters) {
  json filters = {{"label", {"team=x"}}, {"status", {"running"}}};
  add_label_filter(filters, "alknet.owner=p");
  EXPECT_EQ(filters["label"], json({"team=x", "alknet.owner=p"}));
  EXPECT_EQ(filters["status"], json({"running"}));
  json empty = json::object();
  add_label_filter(empty, "alknet.owner=p");
  EXPECT_EQ(empty, json({{"label", {"alknet.owner=p"}}}));
}

}  // namespace
}  // namespace alk::ops
