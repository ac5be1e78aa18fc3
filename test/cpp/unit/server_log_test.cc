// serve's log lines: every field one word, and nothing a caller or a peer sends — an operation
// name, a request id, a close reason — can end a line early or forge a field.
#include "server/server_log.h"

#include <gtest/gtest.h>

#include <string>

namespace alk::server {
namespace {

call::CallRecord a_call() {
  call::CallRecord r;
  r.peer = "alice";
  r.transport = "quic addr=127.0.0.1:5000 cert=SHA256:ab";
  r.operation = "docker/container/stop";
  r.resource = "container/web";
  r.request_id = "7";
  r.outcome = "FORBIDDEN";
  r.duration_ms = 3.14;
  r.detail = "not owner of resource: container/web";
  return r;
}

transport::quic::ConnectionRecord a_connection(std::string event) {
  transport::quic::ConnectionRecord r;
  r.event = std::move(event);
  r.peer = "SHA256:ab";
  r.address = "127.0.0.1:5000";
  r.calls = 3;
  r.duration_ms = 12.25;
  r.outcome = "peer";
  r.detail = "connection closed by the client: client closed";
  return r;
}

TEST(ServerLogTest, ACallLineNamesEveryFieldWithTheDetailLast) {
  EXPECT_EQ(format_call_line(a_call()),
            "call peer=alice via=quic addr=127.0.0.1:5000 cert=SHA256:ab op=docker/container/stop "
            "resource=container/web id=7 outcome=FORBIDDEN duration_ms=3.1 "
            "detail=not owner of resource: container/web");
  call::CallRecord bare = a_call();
  bare.peer.clear();
  bare.resource.clear();
  bare.detail.clear();
  bare.outcome = "ok";
  EXPECT_EQ(format_call_line(bare),
            "call peer=anonymous via=quic addr=127.0.0.1:5000 cert=SHA256:ab "
            "op=docker/container/stop id=7 outcome=ok duration_ms=3.1");
}

TEST(ServerLogTest, CallerTextCannotEndTheLineOrForgeAField) {
  call::CallRecord r = a_call();
  r.request_id = "7 outcome=ok\n2026-01-01T00:00:00.000Z call peer=root";
  r.operation = "a\\b";
  r.detail = "line one\nline two\r\x7f";
  const std::string line = format_call_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_NE(line.find(" op=a\\x5cb "), std::string::npos) << line;
  EXPECT_NE(line.find(" id=7\\x20outcome=ok\\x0a2026-01-01T00:00:00.000Z\\x20call\\x20peer=root "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" outcome=FORBIDDEN "), std::string::npos) << line;
  EXPECT_NE(line.find(" detail=line one\\x0aline two\\x0d\\x7f"), std::string::npos) << line;
}

TEST(ServerLogTest, AConnectionLineHasItsOutcomeAsOneWordAndTheReasonLast) {
  EXPECT_EQ(format_connection_line("quic://127.0.0.1:4433", a_connection("open")),
            "quic connection open listener=quic://127.0.0.1:4433 peer=SHA256:ab "
            "addr=127.0.0.1:5000");
  EXPECT_EQ(format_connection_line("quic://127.0.0.1:4433", a_connection("closed")),
            "quic connection closed listener=quic://127.0.0.1:4433 peer=SHA256:ab "
            "addr=127.0.0.1:5000 calls=3 duration_ms=12.2 outcome=peer "
            "detail=connection closed by the client: client closed");
  transport::quic::ConnectionRecord refused = a_connection("refused");
  refused.peer.clear();
  refused.calls = 0;
  refused.outcome = "rejected";
  refused.detail.clear();
  EXPECT_EQ(format_connection_line("quic://[::1]:4433", refused),
            "quic connection refused listener=quic://[::1]:4433 peer=- addr=127.0.0.1:5000 "
            "calls=0 duration_ms=12.2 outcome=rejected");
}

// A client chooses the reason phrase of its CONNECTION_CLOSE, and the server logs it.
TEST(ServerLogTest, APeersCloseReasonCannotForgeALine) {
  transport::quic::ConnectionRecord r = a_connection("closed");
  r.detail = "connection closed by the client: bye\n2026-01-01T00:00:00.000Z call peer=root";
  const std::string line = format_connection_line("quic://127.0.0.1:4433", r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find(" detail=connection closed by the client: bye\\x0a2026-01-01T00:00:00.000Z "
                      "call peer=root"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace alk::server
