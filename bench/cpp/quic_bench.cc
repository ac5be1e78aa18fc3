// The QUIC benchmark of issue 4: the same operations in-process (the ops Engine in this process)
// and through `alknet-docker serve` over QUIC (and a unix socket, for reference). A benchmark,
// never a test: it checks every byte count and prints one JSON object on stdout per run. The
// wrapper bench/quic.js starts the server, interleaves the runs and prints the table.
//
//   quic_bench handshake    --quic quic://127.0.0.1:P --unix unix:///S --certs DIR [--n 200]
//   quic_bench idle-follows --via quic|unix|inproc --containers ID[,ID…] [--follows 1000]
//                           [--server-pid PID] [--settle 3]
//   quic_bench logs         --via quic|unix|inproc --container ID --expect-bytes N --expect-lines L
//                           [--server-pid PID]
//   quic_bench attach       --via quic|unix|inproc [--bytes 67108864] [--chunk 65536]
//                           [--direction both|in|out] [--server-pid PID]
//
// Common: --quic ADDR, --unix ADDR, --certs DIR (ca.crt, client-a.crt/.key from
// scripts/make-certs.sh), --docker-host unix://… (in-process engine; default $DOCKER_HOST),
// --image (attach; default alknet-test/busybox:latest), --log-driver (attach; default json-file),
// --docker-cli (default /usr/bin/docker).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.h"
#include "callers.h"
#include "docker/endpoint.h"
#include "transport/quic/quic_client.h"

namespace alk::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string error_text(const std::optional<call::CallError>& e) {
  return e ? e->code + ": " + e->message : "";
}

client::ClientTlsOptions tls_from(const Flags& flags) {
  const std::string dir = flags.str("certs");
  if (dir.empty()) return {};
  return {dir + "/ca.crt", dir + "/client-a.crt", dir + "/client-a.key", ""};
}

client::Address address_of(const Flags& flags, const std::string& flag) {
  auto a = client::parse_address(flags.str(flag));
  if (!a) throw std::runtime_error("--" + flag + ": " + a.error());
  return a.value();
}

// The loop, and the engine when the calls are in-process.
class Bench {
 public:
  explicit Bench(const Flags& flags) : flags_(flags) { uv_loop_init(&loop_); }

  ~Bench() {
    caller_.reset();
    run_for(&loop_, 50ms);  // a CallClient frees its connection on a later turn
    if (engine_) {
      bool closed = false;
      engine_->close([&] { closed = true; });
      run_until(
          &loop_, [&] { return closed; }, 10s);
      engine_.reset();
    }
    uv_run(&loop_, UV_RUN_NOWAIT);
    if (uv_loop_close(&loop_) != 0) note("warning: libuv handles left open");
  }

  uv_loop_t* loop() { return &loop_; }

  /// The caller for --via (quic, unix or inproc).
  Caller& caller() {
    if (caller_) return *caller_;
    const std::string via = flags_.str("via", "quic");
    if (via == "inproc") {
      auto endpoint = flags_.has("docker-host")
                          ? docker::parse_docker_host(flags_.str("docker-host"))
                          : docker::endpoint_from_env();
      if (!endpoint) throw std::runtime_error(endpoint.error());
      ops::EngineOptions options;
      options.endpoint = endpoint.value();
      engine_ = std::make_unique<ops::Engine>(&loop_, options);
      caller_ = std::make_unique<InProcessCaller>(*engine_);
    } else if (via == "quic" || via == "unix") {
      caller_ = std::make_unique<RemoteCaller>(&loop_, address_of(flags_, via), tls_from(flags_));
    } else {
      throw std::runtime_error("--via must be quic, unix or inproc");
    }
    return *caller_;
  }

  /// The process whose memory and CPU count as the server's: --server-pid, or this one in-process.
  pid_t server_pid() const {
    if (flags_.str("via", "quic") == "inproc") return ::getpid();
    return static_cast<pid_t>(flags_.num("server-pid", 0));
  }

  /// One docker/system/ping through the caller (sets up the connection); throws on failure.
  void ping() {
    bool done = false;
    std::optional<call::CallError> error;
    client::CallEvents ev;
    ev.on_end = [&](std::optional<call::CallError> e) {
      error = std::move(e);
      done = true;
    };
    client::CallOptions options;
    options.kind = call::OpKind::query;
    auto c = caller().call("docker/system/ping", json::object(), std::move(ev), options);
    if (!run_until(
            &loop_, [&] { return done; }, 30s))
      throw std::runtime_error("ping timed out");
    if (error) throw std::runtime_error("ping failed: " + error_text(error));
  }

 private:
  const Flags& flags_;
  uv_loop_t loop_{};
  std::unique_ptr<ops::Engine> engine_;
  std::unique_ptr<Caller> caller_;
};

// ---------------------------------------------------------------------------------------------
// handshake: fresh connections, one after the other.

// Connect → the first stream opened (the client's handshake done), over a fresh QuicClient.
double quic_handshake_ms(uv_loop_t* loop, const Flags& flags) {
  const client::Address a = address_of(flags, "quic");
  const client::ClientTlsOptions tls = tls_from(flags);
  transport::quic::QuicClientConfig config;
  config.host = a.host;
  config.port = a.port;
  config.tls.ca_file = tls.ca;
  config.tls.cert_file = tls.cert;
  config.tls.key_file = tls.key;
  config.quic.max_streams_bidi = 0;
  double t1 = 0;
  std::string failure;
  bool done = false;
  const double t0 = now_ms();
  auto qc = transport::quic::QuicClient::connect(loop, config);
  qc->open_stream([&](transport::quic::QuicStream* s, const transport::quic::QuicFailure* f) {
    t1 = now_ms();
    done = true;
    if (s) {
      s->reset();
    } else {
      failure = f->message;
    }
  });
  if (!run_until(
          loop, [&] { return done; }, 10s))
    throw std::runtime_error("handshake timed out");
  if (!failure.empty()) throw std::runtime_error("handshake failed: " + failure);
  qc.reset();
  run_for(loop, 2ms);  // the CONNECTION_CLOSE goes out; handles close
  return t1 - t0;
}

// A fresh CallClient (a new connection) and one ping: connect → the answer.
double connect_and_ping_ms(uv_loop_t* loop, const Flags& flags, const std::string& via) {
  bool done = false;
  std::optional<call::CallError> error;
  double t1 = 0;
  const double t0 = now_ms();
  auto caller = std::make_unique<RemoteCaller>(loop, address_of(flags, via), tls_from(flags));
  client::CallEvents ev;
  ev.on_end = [&](std::optional<call::CallError> e) {
    t1 = now_ms();
    error = std::move(e);
    done = true;
  };
  client::CallOptions options;
  options.kind = call::OpKind::query;
  auto c = caller->call("docker/system/ping", json::object(), std::move(ev), options);
  if (!run_until(
          loop, [&] { return done; }, 10s))
    throw std::runtime_error(via + " ping timed out");
  if (error) throw std::runtime_error(via + " ping failed: " + error_text(error));
  c.reset();
  caller.reset();
  run_for(loop, 2ms);
  return t1 - t0;
}

json handshake(const Flags& flags) {
  const int n = static_cast<int>(flags.num("n", 200));
  const int warmup = static_cast<int>(flags.num("warmup", 5));
  Bench bench(flags);
  uv_loop_t* loop = bench.loop();
  std::vector<double> hs, qping, uping;
  for (int i = -warmup; i < n; ++i) {
    // A different kind goes first each round, so drift hits all alike.
    for (int k = 0; k < 3; ++k) {
      switch ((i + warmup + k) % 3) {
        case 0: {
          const double ms = quic_handshake_ms(loop, flags);
          if (i >= 0) hs.push_back(ms);
          break;
        }
        case 1: {
          const double ms = connect_and_ping_ms(loop, flags, "quic");
          if (i >= 0) qping.push_back(ms);
          break;
        }
        case 2: {
          const double ms = connect_and_ping_ms(loop, flags, "unix");
          if (i >= 0) uping.push_back(ms);
          break;
        }
      }
    }
  }
  // Pings on one open connection: the call's own cost, without the connection set-up.
  std::vector<double> warm;
  {
    RemoteCaller caller(loop, address_of(flags, "quic"), tls_from(flags));
    for (int i = -warmup; i < n; ++i) {
      bool done = false;
      double t1 = 0;
      std::optional<call::CallError> error;
      client::CallEvents ev;
      ev.on_end = [&](std::optional<call::CallError> e) {
        t1 = now_ms();
        error = std::move(e);
        done = true;
      };
      client::CallOptions options;
      options.kind = call::OpKind::query;
      const double t0 = now_ms();
      auto c = caller.call("docker/system/ping", json::object(), std::move(ev), options);
      if (!run_until(
              loop, [&] { return done; }, 10s))
        throw std::runtime_error("ping timed out");
      if (error) throw std::runtime_error("warm ping failed: " + error_text(error));
      if (i >= 0) warm.push_back(t1 - t0);
    }
  }
  run_for(loop, 20ms);
  return {{"mode", "handshake"},
          {"quicHandshakeMs", summary(hs)},
          {"quicConnectPingMs", summary(qping)},
          {"unixConnectPingMs", summary(uping)},
          {"quicWarmPingMs", summary(warm)},
          {"samples",
           {{"quicHandshake", hs},
            {"quicConnectPing", qping},
            {"unixConnectPing", uping},
            {"quicWarmPing", warm}}}};
}

// ---------------------------------------------------------------------------------------------
// idle-follows: many quiet log follows on one connection; the server's memory per follow.

struct MemSample {
  int64_t rss_kib = -1, anon_kib = -1, fds = -1;
  json to_json() const { return {{"rssKiB", rss_kib}, {"anonKiB", anon_kib}, {"fds", fds}}; }
};

MemSample mem_of(pid_t pid) {
  return {proc_status_kib(pid, "VmRSS"), proc_status_kib(pid, "RssAnon"), fd_count(pid)};
}

// Median of `count` samples one second apart.
MemSample steady_mem(uv_loop_t* loop, pid_t pid, int count) {
  std::vector<double> rss, anon;
  MemSample last;
  for (int i = 0; i < count; ++i) {
    if (i > 0) run_for(loop, 1000ms);
    last = mem_of(pid);
    rss.push_back(static_cast<double>(last.rss_kib));
    anon.push_back(static_cast<double>(last.anon_kib));
  }
  last.rss_kib = static_cast<int64_t>(median(rss));
  last.anon_kib = static_cast<int64_t>(median(anon));
  return last;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const std::string part = s.substr(start, end == std::string::npos ? end : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

json idle_follows(const Flags& flags) {
  const int follows = static_cast<int>(flags.num("follows", 1000));
  const auto settle = std::chrono::milliseconds(flags.num("settle", 3) * 1000);
  const int samples = static_cast<int>(flags.num("samples", 5));
  const std::vector<std::string> containers = split(flags.str("containers"), ',');
  if (containers.empty()) throw std::runtime_error("--containers ID[,ID…] is required");
  Bench bench(flags);
  uv_loop_t* loop = bench.loop();
  const pid_t pid = bench.server_pid();
  if (pid <= 0) throw std::runtime_error("--server-pid is required");

  bench.ping();  // the connection is up and the call path warm
  run_for(loop, settle);
  const MemSample before = steady_mem(loop, pid, 1);

  struct Follow {
    std::unique_ptr<client::ClientCall> call;
    size_t outputs = 0;
    bool ended = false;
    std::string error;
  };
  std::vector<Follow> fs(static_cast<size_t>(follows));
  int live = 0, ended = 0;
  auto open = [&](int i) {
    Follow& f = fs[static_cast<size_t>(i)];
    client::CallEvents ev;
    ev.on_output = [&f, &live](const json&) {
      if (f.outputs++ == 0) ++live;
    };
    ev.on_end = [&f, &ended](std::optional<call::CallError> e) {
      f.ended = true;
      f.error = e ? error_text(e) : "completed";
      ++ended;
    };
    client::CallOptions options;
    options.kind = call::OpKind::subscription;
    json input = {{"containerId", containers[static_cast<size_t>(i) % containers.size()]},
                  {"follow", true}};
    f.call = bench.caller().call("docker/container/logs", input, std::move(ev), options);
  };

  // Each container printed one line before going quiet: a follow is live once that line came.
  open(0);
  if (!run_until(
          loop, [&] { return live == 1 || ended > 0; }, 30s) ||
      ended > 0) {
    throw std::runtime_error("the first follow did not start: " + fs[0].error);
  }
  run_for(loop, settle);
  const MemSample one = steady_mem(loop, pid, 1);

  // In batches: a unix listener's backlog (128) refuses more connects at once with EAGAIN.
  const int batch = static_cast<int>(flags.num("batch", 100));
  const double t0 = now_ms();
  bool all = true;
  for (int first = 1; first < follows && all; first += batch) {
    const int last = std::min(follows, first + batch);
    for (int i = first; i < last; ++i) open(i);
    all = run_until(
              loop, [&] { return live == last || ended > 0; }, 300s) &&
          ended == 0;
  }
  const double open_ms = now_ms() - t0;
  if (!all || ended > 0) {
    std::string why;
    for (const Follow& f : fs) {
      if (f.ended) {
        why = f.error;
        break;
      }
    }
    throw std::runtime_error(std::to_string(live) + " of " + std::to_string(follows) +
                             " follows live, " + std::to_string(ended) + " ended: " + why);
  }
  run_for(loop, settle);
  const MemSample loaded = steady_mem(loop, pid, samples);
  const int64_t peak = proc_status_kib(pid, "VmHWM");
  if (ended > 0) throw std::runtime_error("a follow ended while idle: " + fs[0].error);

  for (Follow& f : fs) f.call.reset();  // cancels: the server resets and releases each call
  run_for(loop, settle);
  const MemSample after = steady_mem(loop, pid, 1);

  const double per_follow =
      static_cast<double>(loaded.rss_kib - one.rss_kib) / static_cast<double>(follows - 1);
  const double per_follow_anon =
      static_cast<double>(loaded.anon_kib - one.anon_kib) / static_cast<double>(follows - 1);
  return {{"mode", "idle-follows"},
          {"via", flags.str("via", "quic")},
          {"follows", follows},
          {"containers", containers.size()},
          {"openMs", open_ms},
          {"before", before.to_json()},
          {"one", one.to_json()},
          {"all", loaded.to_json()},
          {"afterCancel", after.to_json()},
          {"peakKiB", peak},
          {"perFollowKiB", per_follow},
          {"perFollowAnonKiB", per_follow_anon}};
}

// ---------------------------------------------------------------------------------------------
// logs: a follow of a log that ends (the container exited), counted and checked.

struct OutputText {
  bool stdout_stream = false;
  int64_t bytes = 0;     // decoded bytes of "text"
  int64_t newlines = 0;  // of them, '\n'
};

// Reads {"stream":"stdout","text":"…"} (keys in any order) and counts the decoded text. Escapes:
// \n \t \" \\ \/ \b \f \r and \uXXXX (counted as its UTF-8 length). False on anything else.
bool scan_output(std::string_view json_text, OutputText& out) {
  const size_t stream = json_text.find("\"stream\":\"");
  if (stream == std::string_view::npos) return false;
  out.stdout_stream = json_text.compare(stream + 10, 7, "stdout\"") == 0;
  const size_t text = json_text.find("\"text\":\"");
  if (text == std::string_view::npos) return false;
  for (size_t i = text + 8; i < json_text.size(); ++i) {
    const char c = json_text[i];
    if (c == '"') return true;
    if (c != '\\') {
      ++out.bytes;
      continue;
    }
    if (++i >= json_text.size()) return false;
    const char e = json_text[i];
    if (e == 'u') {
      if (i + 4 >= json_text.size()) return false;
      const unsigned cp =
          static_cast<unsigned>(std::stoul(std::string(json_text.substr(i + 1, 4)), nullptr, 16));
      // A surrogate pair is 4 bytes of UTF-8: counted on its high half.
      const bool low_surrogate = cp >= 0xDC00 && cp <= 0xDFFF;
      const bool high_surrogate = cp >= 0xD800 && cp <= 0xDBFF;
      out.bytes += low_surrogate ? 0 : high_surrogate ? 4 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
      out.newlines += cp == '\n';
      i += 4;
      continue;
    }
    ++out.bytes;
    out.newlines += e == 'n';
  }
  return false;
}

json logs(const Flags& flags) {
  const std::string container = flags.str("container");
  const int64_t expect_bytes = flags.num("expect-bytes", -1);
  const int64_t expect_lines = flags.num("expect-lines", -1);
  if (container.empty()) throw std::runtime_error("--container is required");
  Bench bench(flags);
  uv_loop_t* loop = bench.loop();
  const pid_t server = bench.server_pid();
  const bool remote = flags.str("via", "quic") != "inproc";
  bench.ping();

  int64_t bytes = 0, lines = 0, events = 0, other = 0;
  bool done = false;
  std::optional<call::CallError> error;
  double t1 = 0;
  client::CallEvents ev;
  // The lightest consumer that still checks every byte, the same for every via: the output's
  // JSON text, scanned (not parsed into a value), so the transport's cost is what differs.
  ev.on_output_text = [&](std::string_view out) {
    ++events;
    OutputText t;
    if (!scan_output(out, t) || !t.stdout_stream) {
      ++other;
      return;
    }
    bytes += t.bytes;
    lines += t.newlines;
  };
  ev.on_end = [&](std::optional<call::CallError> e) {
    t1 = now_ms();
    error = std::move(e);
    done = true;
  };
  client::CallOptions options;
  options.kind = call::OpKind::subscription;
  const double cpu0 = self_cpu_s();
  const double scpu0 = remote && server > 0 ? proc_cpu_s(server) : 0;
  const double t0 = now_ms();
  auto c =
      bench.caller().call("docker/container/logs", {{"containerId", container}, {"follow", true}},
                          std::move(ev), options);
  if (!run_until(
          loop, [&] { return done; }, 3600s))
    throw std::runtime_error("logs timed out");
  const double client_cpu = self_cpu_s() - cpu0;
  const double server_cpu = remote && server > 0 ? proc_cpu_s(server) - scpu0 : 0;
  if (error) throw std::runtime_error("logs failed: " + error_text(error));
  if ((expect_bytes >= 0 && bytes != expect_bytes) ||
      (expect_lines >= 0 && lines != expect_lines) || other != 0) {
    throw std::runtime_error("logs: got " + std::to_string(bytes) + " B / " +
                             std::to_string(lines) + " lines / " + std::to_string(other) +
                             " other events, expected " + std::to_string(expect_bytes) + " B / " +
                             std::to_string(expect_lines) + " lines — bytes lost or added");
  }
  c.reset();
  const double ms = t1 - t0;
  return {{"mode", "logs"},
          {"via", flags.str("via", "quic")},
          {"ms", ms},
          {"bytes", bytes},
          {"lines", lines},
          {"events", events},
          {"MBps", static_cast<double>(bytes) / 1e6 / (ms / 1000)},
          {"clientCpuS", client_cpu},
          {"serverCpuS", server_cpu}};
}

// ---------------------------------------------------------------------------------------------
// attach: bytes over the raw carriage, one way or both.
//   both  --bytes through `cat` and back: every byte crosses the transport twice;
//   in    --bytes of stdin into `cat >/dev/null`: nothing comes back;
//   out   a line on stdin starts `head -c <bytes> /dev/zero`: only output crosses.

struct AttachShape {
  const char* command;  // the container's command line, as the docker CLI takes it
  bool sends_payload;   // stdin carries --bytes (otherwise one line that starts the output)
  bool expects_echo;    // stdout repeats the payload (otherwise it is zeros, or nothing)
};

AttachShape attach_shape(const std::string& direction) {
  if (direction == "both") return {"cat", true, true};
  if (direction == "in") return {"sh -c 'cat >/dev/null'", true, false};
  if (direction == "out") {
    return {"sh -c 'read -r _ && head -c \"$ALK_BENCH_BYTES\" /dev/zero'", false, false};
  }
  throw std::runtime_error("--direction must be both, in or out, not " + direction);
}

json attach(const Flags& flags) {
  const int64_t total = flags.num("bytes", int64_t{64} << 20);
  const size_t chunk = static_cast<size_t>(flags.num("chunk", 65536));
  const std::string cli = flags.str("docker-cli", "/usr/bin/docker");
  const std::string image = flags.str("image", "alknet-test/busybox:latest");
  const std::string log_driver = flags.str("log-driver", "json-file");
  const std::string direction = flags.str("direction", "both");
  const AttachShape shape = attach_shape(direction);
  Bench bench(flags);
  uv_loop_t* loop = bench.loop();
  const pid_t server = bench.server_pid();
  const bool remote = flags.str("via", "quic") != "inproc";

  // Created with OpenStdin + StdinOnce and started before the attach: the command first blocks on
  // its stdin, so no output is missed, and the end of stdin ends it.
  const std::string id =
      sh(cli + " create -i --label bench=1 --network none --log-driver " + log_driver +
         " -e ALK_BENCH_BYTES=" + std::to_string(total) + " " + image + " " + shape.command);
  struct Remove {
    std::string cmd;
    ~Remove() {
      try {
        sh(cmd);
      } catch (...) {
      }
    }
  } remove{cli + " rm -f " + id + " >/dev/null 2>&1"};
  sh(cli + " start " + id + " >/dev/null");
  bench.ping();

  // The payload: a block of text repeated; every byte that comes back is compared.
  std::string block(chunk, 'x');
  for (size_t i = 0; i < chunk; ++i) block[i] = static_cast<char>('a' + (i * 7 + i / 61) % 26);
  int64_t sent = 0, received = 0, stderr_bytes = 0, mismatches = 0;
  int exit_code = -2;
  bool done = false, stdin_ended = false;
  std::optional<call::CallError> error;
  double t1 = 0;
  client::ClientCall* call = nullptr;
  const int64_t to_send = shape.sends_payload ? total : 1;
  const int64_t to_receive = shape.sends_payload && !shape.expects_echo ? 0 : total;
  if (!shape.sends_payload) block[0] = '\n';
  auto pump = [&] {
    while (call && sent < to_send && call->writable()) {
      const size_t n = static_cast<size_t>(std::min<int64_t>(to_send - sent, chunk));
      call->send_stdin(std::string_view(block.data(), n));
      sent += static_cast<int64_t>(n);
    }
    if (call && sent == to_send && !stdin_ended) {
      stdin_ended = true;
      call->end_stdin();
    }
  };
  client::CallEvents ev;
  ev.on_raw_open = [&](bool) { pump(); };
  ev.on_drain = [&] { pump(); };
  ev.on_chunk = [&](wire::ChunkType type, std::string_view bytes) {
    if (type != wire::ChunkType::stdout_data) {
      stderr_bytes += static_cast<int64_t>(bytes.size());
      return;
    }
    if (!shape.expects_echo) {
      if (bytes.find_first_not_of('\0') != std::string_view::npos) ++mismatches;
      received += static_cast<int64_t>(bytes.size());
      return;
    }
    size_t off = 0;
    while (off < bytes.size()) {
      const size_t at = static_cast<size_t>(received) % chunk;
      const size_t n = std::min(bytes.size() - off, chunk - at);
      if (std::memcmp(bytes.data() + off, block.data() + at, n) != 0) ++mismatches;
      off += n;
      received += static_cast<int64_t>(n);
    }
  };
  ev.on_exit = [&](int code) { exit_code = code; };
  ev.on_end = [&](std::optional<call::CallError> e) {
    t1 = now_ms();
    error = std::move(e);
    done = true;
  };
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  const double cpu0 = self_cpu_s();
  const double scpu0 = remote && server > 0 ? proc_cpu_s(server) : 0;
  const double t0 = now_ms();
  auto c =
      bench.caller().call("docker/container/attach", {{"containerId", id}}, std::move(ev), options);
  call = c.get();
  if (!run_until(
          loop, [&] { return done; }, 600s))
    throw std::runtime_error("attach timed out");
  const double client_cpu = self_cpu_s() - cpu0;
  const double server_cpu = remote && server > 0 ? proc_cpu_s(server) - scpu0 : 0;
  call = nullptr;
  c.reset();
  if (error) throw std::runtime_error("attach failed: " + error_text(error));
  if (received != to_receive || stderr_bytes != 0 || mismatches != 0 || exit_code != 0) {
    throw std::runtime_error("attach: sent " + std::to_string(sent) + " B, got back " +
                             std::to_string(received) + " B (" + std::to_string(mismatches) +
                             " mismatching pieces), " + std::to_string(stderr_bytes) +
                             " B on stderr, exit " + std::to_string(exit_code));
  }
  const double ms = t1 - t0;
  // Throughput counts the payload once, whichever way it went.
  return {{"mode", "attach"},         {"via", flags.str("via", "quic")},
          {"direction", direction},   {"ms", ms},
          {"bytes", total},           {"MBps", static_cast<double>(total) / 1e6 / (ms / 1000)},
          {"clientCpuS", client_cpu}, {"serverCpuS", server_cpu}};
}

}  // namespace
}  // namespace alk::bench

int main(int argc, char** argv) {
  using namespace alk::bench;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s handshake|idle-follows|logs|attach [--flags]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  try {
    Flags flags(argc, argv, 2);
    nlohmann::json result;
    if (mode == "handshake") {
      result = handshake(flags);
    } else if (mode == "idle-follows") {
      result = idle_follows(flags);
    } else if (mode == "logs") {
      result = logs(flags);
    } else if (mode == "attach") {
      result = attach(flags);
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
    std::printf("%s\n", result.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::printf("%s\n", nlohmann::json{{"mode", mode}, {"error", e.what()}}.dump().c_str());
    std::fprintf(stderr, "quic_bench %s: %s\n", mode.c_str(), e.what());
    return 1;
  }
}
