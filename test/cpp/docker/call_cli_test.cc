// `alknet-docker call` as a process against `alknet-docker serve` on a unix socket: what it prints
// for output events (one canonical JSON line each, whatever the bytes: quotes, control characters,
// UTF-8, non-UTF-8 as base64, timestamps), the exit code of run, and a live follow printing each
// line as it arrives rather than when the stream ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/engine_fixture.h"
#include "wire/json_text.h"

namespace alk::test {
namespace {

using nlohmann::json;

const std::string kBinary = std::string(ALK_BINARY_DIR) + "/alknet-docker";

struct CliResult {
  int exit_code = -1;
  std::vector<std::string> lines;
};

class CallCli : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (::access(kBinary.c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    base_ = "/tmp/alk-call-cli-" + std::to_string(::getpid());
    label_ = "call-cli-" + std::to_string(::getpid());
    pid_ = std::stoi(sh("sh -c '" + kBinary + " serve --listen unix://" + base_ +
                        ".sock >/dev/null 2>" + base_ + ".log & echo $!'"));
    for (int i = 0; i < 200 && slurp(base_ + ".log").find("listening on") == std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_NE(slurp(base_ + ".log").find("listening on"), std::string::npos)
        << slurp(base_ + ".log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    sh("docker ps -aq --filter label=alknet-test=" + label_ + " | xargs -r docker rm -f >/dev/null",
       true);
    sh("rm -f " + base_ + ".sock " + base_ + ".log", true);
    EngineFixture::TearDown();
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    return out + "'";
  }

  CliResult call_cli(const std::string& op, const json& input) {
    CliResult r;
    FILE* p = ::popen((kBinary + " call unix://" + base_ + ".sock " + op + " " +
                       quoted(input.dump()) + " 2>/dev/null")
                          .c_str(),
                      "r");
    if (!p) return r;
    std::string out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) r.lines.push_back(line);
    return r;
  }

  std::string base_;
  std::string label_;
  pid_t pid_ = -1;
};

TEST_F(CallCli, PrintsEachOutputAsOneCanonicalJsonLine) {
  const std::string id = create_container(
      R"(sh -c "printf 'plain\n'; printf 'q\"b\\\\t\tc\001 wörld ✓\n'; printf 'err\n' >&2")");
  sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
  for (const bool timestamps : {false, true}) {
    const CliResult r =
        call_cli("docker/container/logs", {{"containerId", id}, {"timestamps", timestamps}});
    EXPECT_EQ(r.exit_code, 0);
    ASSERT_EQ(r.lines.size(), 3u);
    std::string out, err;
    for (const std::string& line : r.lines) {
      const json v = json::parse(line, nullptr, false);
      ASSERT_TRUE(v.is_object()) << line;
      // Exactly what nlohmann prints for the value: sorted keys, no spaces, minimal escapes.
      EXPECT_EQ(v.dump(-1, ' ', false, json::error_handler_t::replace), line);
      EXPECT_EQ(v.contains("timestamp"), timestamps) << line;
      (v["stream"] == "stdout" ? out : err) += v.value("text", "");
    }
    EXPECT_EQ(out, "plain\nq\"b\\t\tc\001 wörld ✓\n");
    EXPECT_EQ(err, "err\n");
  }
}

TEST_F(CallCli, ExitsWithTheContainersCodeAndPrintsBytesThatAreNotUtf8AsBase64) {
  const CliResult r =
      call_cli("docker/container/run",
               {{"image", test_image()},
                {"command", {"sh", "-c", "echo hi; printf '\\377\\376x' >&2; exit 7"}},
                {"networkMode", "none"},
                {"labels", {{"alknet-test", label_}}}});
  EXPECT_EQ(r.exit_code, 7);
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_NE(r.lines[0].find(R"("status":"created")"), std::string::npos) << r.lines[0];
  // stdout and stderr are separate streams: their relative order is not fixed.
  const bool hi_first = r.lines[1].find("stdout") != std::string::npos;
  EXPECT_EQ(r.lines[hi_first ? 1 : 2], R"({"stream":"stdout","text":"hi\n"})");
  EXPECT_EQ(r.lines[hi_first ? 2 : 1], R"({"base64":"//54","stream":"stderr"})");
  EXPECT_EQ(r.lines[3], R"({"exitCode":7,"terminal":true})");
}

TEST_F(CallCli, FollowPrintsEachLineWhileTheContainerRuns) {
  const std::string id = create_container("sh -c 'echo first; sleep 300'");
  sh("docker start " + id + " >/dev/null");
  FILE* p = ::popen((kBinary + " call unix://" + base_ + ".sock docker/container/logs " +
                     quoted(json{{"containerId", id}, {"follow", true}}.dump()))
                        .c_str(),
                    "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> line{};
  // The line arrives while the container still runs: output is not held until the stream ends.
  ASSERT_NE(std::fgets(line.data(), line.size(), p), nullptr);
  EXPECT_STREQ(line.data(), "{\"stream\":\"stdout\",\"text\":\"first\\n\"}\n");
  EXPECT_EQ(sh("docker inspect -f '{{.State.Running}}' " + id), "true");
  sh("docker kill " + id + " >/dev/null");
  while (std::fgets(line.data(), line.size(), p) != nullptr) {
  }
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace alk::test
