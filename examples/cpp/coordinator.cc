// A coordinator in C++: starts several containers in parallel through `alknet-docker serve`,
// streams their output with a prefix, and collects each exit code from the terminal event of
// docker/container/run — the daemon's own completion, never polling.
//
//   coordinator unix:///tmp/alknet.sock [image]
#include <cstdio>
#include <map>
#include <string>

#include "client/call_client.h"

namespace {

struct Job {
  std::string name;
  std::string script;
  std::string partial[2];  // stdout, stderr: text after the last newline
  std::optional<int> exit_code;
  std::optional<alk::call::CallError> error;
  bool done = false;
};

// Prints whole lines with the job's prefix; keeps the unfinished tail for the next event.
void print_lines(Job& job, bool is_stderr, const std::string& text) {
  std::string& buf = job.partial[is_stderr ? 1 : 0];
  buf += text;
  size_t start = 0, nl;
  while ((nl = buf.find('\n', start)) != std::string::npos) {
    std::fprintf(is_stderr ? stderr : stdout, "[%s] %.*s\n", job.name.c_str(),
                 static_cast<int>(nl - start), buf.data() + start);
    start = nl + 1;
  }
  buf.erase(0, start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s unix:///path/to/alknet.sock [image]\n", argv[0]);
    return 2;
  }
  auto address = alk::client::parse_address(argv[1]);
  if (!address) {
    std::fprintf(stderr, "%s\n", address.error().c_str());
    return 2;
  }
  const std::string image = argc > 2 ? argv[2] : "alknet-test/busybox:latest";
  std::map<std::string, Job> jobs;
  for (auto [name, script] : std::map<std::string, std::string>{
           {"count", "for i in 1 2 3; do echo step $i; sleep 0.1; done"},
           {"fail", "echo about to fail >&2; exit 3"},
           {"hash", "head -c 1000000 /dev/urandom | md5sum"}}) {
    jobs[name].name = name;
    jobs[name].script = script;
  }

  uv_loop_t* loop = uv_default_loop();
  alk::client::CallClient client(loop, address.value());
  std::vector<std::unique_ptr<alk::client::ClientCall>> calls;
  for (auto& [name, job] : jobs) {
    alk::client::CallEvents events;
    Job* j = &job;
    events.on_output = [j](const nlohmann::json& out) {
      if (out.value("terminal", false)) {
        j->exit_code = out.value("exitCode", -1);
      } else if (out.contains("text")) {
        print_lines(*j, out.value("stream", "") == "stderr", out["text"].get<std::string>());
      }
    };
    events.on_end = [j](std::optional<alk::call::CallError> error) {
      j->error = std::move(error);
      j->done = true;
    };
    nlohmann::json input = {{"image", image},
                            {"command", {"sh", "-c", job.script}},
                            {"networkMode", "none"},
                            {"labels", {{"example.job", name}}}};
    alk::client::CallOptions options;
    options.kind = alk::call::OpKind::subscription;
    calls.push_back(client.call("docker/container/run", input, std::move(events), options));
  }
  uv_run(loop, UV_RUN_DEFAULT);

  int failed = 0;
  std::printf("\n");
  for (auto& [name, job] : jobs) {
    for (int s = 0; s < 2; ++s) {
      if (!job.partial[s].empty()) print_lines(job, s == 1, "\n");
    }
    if (job.error) {
      std::printf("%-6s error %s: %s\n", name.c_str(), job.error->code.c_str(),
                  job.error->message.c_str());
      ++failed;
    } else {
      std::printf("%-6s exit code %d\n", name.c_str(), job.exit_code.value_or(-1));
      if (job.exit_code.value_or(-1) != 0) ++failed;
    }
  }
  calls.clear();
  uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
  return failed == 0 ? 0 : 1;
}
