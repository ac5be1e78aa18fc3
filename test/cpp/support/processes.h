// Helpers for tests that drive programs and sockets from the outside: run a shell command, find a
// free UDP port, read a whole file.
#pragma once

#include <cstdint>
#include <string>

namespace alk::test {

/// What a shell command printed (stdout and stderr merged) and how it exited.
struct CommandResult {
  int exit_code = -1;  ///< -1 when it could not run or was killed by a signal
  std::string out;
};

/// Runs `command` with /bin/sh, stderr merged into stdout; blocks until it exits.
CommandResult run_command(const std::string& command);

/// Runs the built `alknet-docker` (ALK_BINARY_DIR) with `args`, as run_command does.
CommandResult run_alknet(const std::string& args);

/// The path of the built `alknet-docker`.
std::string alknet_binary();

/// A UDP port on 127.0.0.1 that nobody is bound to right now (for servers that need a concrete
/// port, e.g. to come back on the same one).
uint16_t free_udp_port();

/// The whole file, or "" when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace alk::test
