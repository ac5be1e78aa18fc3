#include "bench_util.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace alk::bench {

Flags::Flags(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument: " + a);
    const std::string key = a.substr(2);
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      values_[key] = argv[++i];
    } else {
      values_[key] = "1";
    }
  }
}

std::string Flags::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int64_t Flags::num(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : std::stoll(it->second);
}

double now_ms() {
  return static_cast<double>(uv_hrtime()) / 1e6;
}

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(p / 100.0 * xs.size())));
  return xs[rank - 1];
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

nlohmann::json summary(const std::vector<double>& xs) {
  if (xs.empty()) return {{"n", 0}};
  const double sum = std::accumulate(xs.begin(), xs.end(), 0.0);
  return {{"n", xs.size()},
          {"min", *std::min_element(xs.begin(), xs.end())},
          {"p50", percentile(xs, 50)},
          {"p99", percentile(xs, 99)},
          {"max", *std::max_element(xs.begin(), xs.end())},
          {"mean", sum / static_cast<double>(xs.size())}};
}

int64_t proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  }
  return -1;
}

int64_t fd_count(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int64_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

double proc_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 0; i < 13 && fields >> f; ++i) {
    if (i == 11) utime = std::stod(f);
    if (i == 12) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

std::string sh(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + command);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  const double deadline = now_ms() + static_cast<double>(timeout.count());
  // A repeating timer keeps UV_RUN_ONCE from blocking forever when nothing else is pending.
  auto* tick = new uv_timer_t;
  uv_timer_init(loop, tick);
  uv_timer_start(
      tick, [](uv_timer_t*) {}, 5, 5);
  bool ok = true;
  while (!done()) {
    if (now_ms() > deadline) {
      ok = false;
      break;
    }
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tick),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

void run_for(uv_loop_t* loop, std::chrono::milliseconds duration) {
  const double end = now_ms() + static_cast<double>(duration.count());
  run_until(
      loop, [end] { return now_ms() >= end; }, duration + std::chrono::seconds(1));
}

void note(const std::string& line) {
  char stamp[16];
  const std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "[%s] %s\n", stamp, line.c_str());
}

}  // namespace alk::bench
