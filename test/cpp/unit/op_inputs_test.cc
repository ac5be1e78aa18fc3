// Input helpers of the logs and image operations: time values and image references.
#include <gtest/gtest.h>

#include "ops/image_ref.h"
#include "ops/time_input.h"

namespace alk::ops {
namespace {

using nlohmann::json;

std::string time_of(const json& v, int64_t now = 1700000000) {
  auto r = to_docker_time(v, "since", now);
  return r ? r.value() : "error: " + r.error().message;
}

TEST(TimeInput, AcceptedForms) {
  EXPECT_EQ(time_of(1700000000), "1700000000");
  EXPECT_EQ(time_of(1700000000.5), "1700000000.500000000");
  EXPECT_EQ(time_of("1700000000"), "1700000000");
  EXPECT_EQ(time_of("1700000000.25"), "1700000000.25");
  EXPECT_EQ(time_of("2023-11-14T22:13:20Z"), "1700000000.000000000");
  EXPECT_EQ(time_of("2023-11-15T00:13:20.5+02:00"), "1700000000.500000000");
  EXPECT_EQ(time_of("10m", 1700000000), "1699999400");
  EXPECT_EQ(time_of("2h", 1700000000), "1699992800");
}

TEST(TimeInput, RefusedFormsNameTheField) {
  for (const json& v : {json("yesterday"), json(-1), json(true), json("2023-11-14 22:13:20"),
                        json("10d"), json("1.2.3")}) {
    auto r = to_docker_time(v, "until", 0);
    ASSERT_FALSE(r) << v.dump();
    EXPECT_EQ(r.error().code, "INVALID_INPUT");
    EXPECT_NE(r.error().message.find("until"), std::string::npos);
  }
}

TEST(ImageRef, ChecksWhatGoesIntoAPath) {
  for (const char* ok : {"busybox", "busybox:1.36", "127.0.0.1:5000/alknet-test/busybox:latest",
                         "x@sha256:0123abcd", "sha256:0123abcd"}) {
    EXPECT_FALSE(check_image_ref(ok)) << ok;
  }
  for (const char* bad : {"", "../containers/x", "a//b", "a/./b", "a b", "a?b", "a#b", "a%2e"}) {
    auto e = check_image_ref(bad);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->code, "INVALID_INPUT");
  }
}

TEST(ImageRef, TagOrDigest) {
  EXPECT_FALSE(has_tag_or_digest("busybox"));
  EXPECT_FALSE(has_tag_or_digest("127.0.0.1:5000/x/y"));
  EXPECT_TRUE(has_tag_or_digest("busybox:1.36"));
  EXPECT_TRUE(has_tag_or_digest("127.0.0.1:5000/x/y:t"));
  EXPECT_TRUE(has_tag_or_digest("x@sha256:00"));
}

}  // namespace
}  // namespace alk::ops
