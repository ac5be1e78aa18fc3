// Small helpers of the QUIC benchmark: command-line flags, clocks, statistics, /proc readings,
// shell commands for set-up (never timed) and running a libuv loop until a condition holds.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace alk::bench {

/// `--name value` pairs after the mode; a `--flag` followed by another flag (or nothing) is "1".
class Flags {
 public:
  Flags(int argc, char** argv, int first);
  std::string str(const std::string& name, const std::string& fallback = "") const;
  int64_t num(const std::string& name, int64_t fallback) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

/// Milliseconds on a monotonic clock.
double now_ms();

/// Nearest-rank percentile (p in 0..100) of a non-empty sample.
double percentile(std::vector<double> xs, double p);
double median(std::vector<double> xs);
/// {"n", "min", "p50", "p99", "max", "mean"} of a sample.
nlohmann::json summary(const std::vector<double>& xs);

/// A field of /proc/PID/status in KiB ("VmRSS", "RssAnon", "VmHWM"), or -1.
int64_t proc_status_kib(pid_t pid, const std::string& field);
/// Open file descriptors of PID, or -1.
int64_t fd_count(pid_t pid);
/// CPU seconds (user + system, every thread) of PID from /proc/PID/stat, or -1.
double proc_cpu_s(pid_t pid);
/// CPU seconds of this process (getrusage).
double self_cpu_s();

/// Runs a shell command (set-up only); returns its stdout without the trailing newline. Throws
/// std::runtime_error on a non-zero exit.
std::string sh(const std::string& command);

/// Runs `loop` until `done()` holds; false when `timeout` passed first.
bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout);
/// Runs `loop` for `duration` (lets closes and timers settle).
void run_for(uv_loop_t* loop, std::chrono::milliseconds duration);

/// Logs a line on stderr with a time stamp (stdout carries the JSON result).
void note(const std::string& line);

}  // namespace alk::bench
