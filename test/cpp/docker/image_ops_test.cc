// docker/image/{pull,list,inspect,remove} against the real daemon and the local registry on
// 127.0.0.1:5000 (scripts/docker-up.sh); nothing is pulled from the internet.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char kRegistryImage[] = "127.0.0.1:5000/alknet-test/busybox";

class ImageOps : public EngineFixture {
 protected:
  // A throwaway tag of the test image, removed at the end of the test.
  std::string extra_tag() {
    const std::string tag = "alknet-test/busybox:img-" + std::to_string(::getpid());
    sh("docker tag " + test_image() + " " + tag);
    tags_.push_back(tag);
    return tag;
  }

  void TearDown() override {
    for (const auto& t : tags_) sh("docker rmi " + t + " >/dev/null 2>&1", true);
    EngineFixture::TearDown();
  }

  std::vector<std::string> tags_;
};

TEST_F(ImageOps, PullReportsProgressThenCompletes) {
  sh(std::string("docker rmi ") + kRegistryImage + ":latest >/dev/null 2>&1", true);
  auto live = call("docker/image/pull", {{"image", kRegistryImage}}, 120s);
  ASSERT_TRUE(live->sink.completed) << (live->sink.error ? live->sink.error->message : "");
  ASSERT_FALSE(live->sink.outputs.empty());
  for (const auto& o : live->sink.outputs) {
    ASSERT_TRUE(o.contains("status")) << o.dump();
    EXPECT_TRUE(o["status"].is_string());
  }
  EXPECT_FALSE(
      sh(std::string("docker image inspect -f '{{.Id}}' ") + kRegistryImage + ":latest").empty());
}

TEST_F(ImageOps, PullOfAMissingImageFails) {
  auto live = call("docker/image/pull",
                   {{"image", "127.0.0.1:5000/does-not-exist"}, {"tag", "latest"}}, 120s);
  ASSERT_TRUE(live->sink.error);
  EXPECT_FALSE(live->sink.completed);
  EXPECT_EQ(live->sink.error->code, "IMAGE_NOT_FOUND") << live->sink.error->message;
}

// An error inside the 200 stream (the daemon got the manifest, then a layer is missing from the
// registry) is call.error, never call.completed.
TEST_F(ImageOps, ErrorInsideThePullStreamIsCallError) {
  const std::string registry = "http://127.0.0.1:5000/v2/alknet-test/broken";
  const std::string tag = "t" + std::to_string(::getpid());
  const std::string ref = "127.0.0.1:5000/alknet-test/broken:" + tag;
  const std::string accept = "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' ";
  // A one-layer image whose layer the daemon has never seen, pushed, then its layer deleted.
  sh("d=$(mktemp -d) && echo \"unique $$ $(date +%s%N)\" > $d/f && tar -C $d -c . | "
     "docker import - " +
     ref + " >/dev/null && rm -rf $d && docker push -q " + ref + " >/dev/null");
  const std::string layer = sh("curl -sf " + accept + registry + "/manifests/" + tag +
                               " | grep -o 'sha256:[0-9a-f]*' | tail -1");
  ASSERT_FALSE(layer.empty());
  sh("curl -sf -o /dev/null -X DELETE " + registry + "/blobs/" + layer);
  sh("docker rmi " + ref + " >/dev/null");

  auto live = call("docker/image/pull",
                   {{"image", "127.0.0.1:5000/alknet-test/broken"}, {"tag", tag}}, 120s);
  ASSERT_TRUE(live->sink.error);
  EXPECT_FALSE(live->sink.completed);
  EXPECT_EQ(live->sink.error->code, "DOCKER_ERROR") << live->sink.error->message;
  EXPECT_TRUE(live->sink.error->details.contains("errorDetail"))
      << live->sink.error->details.dump();
  EXPECT_FALSE(live->sink.outputs.empty()) << "progress before the error";

  const std::string digest = sh("curl -sfI " + accept + registry + "/manifests/" + tag +
                                " | tr -d '\\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'");
  if (!digest.empty())
    sh("curl -sf -o /dev/null -X DELETE " + registry + "/manifests/" + digest, true);
}

TEST_F(ImageOps, PullRefusesBadInput) {
  auto both = call("docker/image/pull", {{"image", "busybox:1.36"}, {"tag", "latest"}});
  ASSERT_TRUE(both->sink.error);
  EXPECT_EQ(both->sink.error->code, "INVALID_INPUT");
  EXPECT_NE(both->sink.error->message.find("tag"), std::string::npos);
  auto path = call("docker/image/pull", {{"image", "../containers/x"}});
  ASSERT_TRUE(path->sink.error);
  EXPECT_EQ(path->sink.error->code, "INVALID_INPUT");
}

TEST_F(ImageOps, InspectAndList) {
  auto inspect = call("docker/image/inspect", {{"image", test_image()}});
  ASSERT_EQ(inspect->sink.outputs.size(), 1u)
      << (inspect->sink.error ? inspect->sink.error->message : "");
  const json& info = inspect->sink.outputs[0];
  ASSERT_TRUE(info.contains("Id"));
  EXPECT_EQ(info["Id"], sh("docker image inspect -f '{{.Id}}' " + test_image()));

  auto list = call("docker/image/list", {{"filters", {{"reference", {test_image()}}}}});
  ASSERT_EQ(list->sink.outputs.size(), 1u);
  const json& images = list->sink.outputs[0];
  ASSERT_EQ(images.size(), 1u) << images.dump();
  EXPECT_EQ(images[0]["Id"], info["Id"]);
}

TEST_F(ImageOps, MissingImageIsImageNotFound) {
  auto inspect = call("docker/image/inspect", {{"image", "alknet-test/no-such-image:latest"}});
  ASSERT_TRUE(inspect->sink.error);
  EXPECT_EQ(inspect->sink.error->code, "IMAGE_NOT_FOUND");
  auto remove = call("docker/image/remove", {{"image", "alknet-test/no-such-image:latest"}});
  ASSERT_TRUE(remove->sink.error);
  EXPECT_EQ(remove->sink.error->code, "IMAGE_NOT_FOUND");
}

TEST_F(ImageOps, RemoveUntagsAndRefusesSharedIdsWithoutForce) {
  const std::string tag = extra_tag();
  const std::string id = sh("docker image inspect -f '{{.Id}}' " + tag);
  // The id is shared by the test image and the extra tag: removing it needs force.
  auto conflict = call("docker/image/remove", {{"image", id}});
  ASSERT_TRUE(conflict->sink.error);
  EXPECT_EQ(conflict->sink.error->code, "CONFLICT") << conflict->sink.error->message;

  auto removed = call("docker/image/remove", {{"image", tag}, {"noprune", true}});
  ASSERT_EQ(removed->sink.outputs.size(), 1u)
      << (removed->sink.error ? removed->sink.error->message : "");
  EXPECT_EQ(removed->sink.outputs[0], (json{{{"Untagged", tag}}}));
  EXPECT_TRUE(sh("docker image inspect " + tag + " >/dev/null 2>&1 || echo gone", true) == "gone");
  // The test image itself is untouched.
  EXPECT_EQ(sh("docker image inspect -f '{{.Id}}' " + test_image()), id);
}

}  // namespace
}  // namespace alk::test
