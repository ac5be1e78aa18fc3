# The Node addon: the C++ core (cpp/{util,wire,docker,call,ops}) plus the N-API glue (cpp/node),
# built against Node's own headers — uv.h included from the node include directory, and no libuv
# linked: the addon runs on the libuv inside the node binary. llhttp's C sources (Debian
# node-llhttp) are compiled into a static library with hidden visibility, so the addon's calls
# bind to its own copy and never to the llhttp of another version that node exports. The QUIC
# client links the system's ngtcp2 and its GnuTLS glue (node exports no ngtcp2 symbols).
{
  "variables": {
    "llhttp_dir%": "/usr/share/llhttp",
    "llhttp_include_dir%": "/usr/share/include/llhttp",
  },
  "target_defaults": {
    "cflags": ["-fvisibility=hidden"],
    "cflags_cc": ["-std=c++20", "-fvisibility-inlines-hidden"],
    # node's common.gypi turns exceptions and RTTI off; the core (nlohmann/json) needs both.
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
  },
  "targets": [
    {
      "target_name": "alk_llhttp",
      "type": "static_library",
      # One-line wrappers that #include the Debian sources (gyp mishandles absolute source paths).
      "sources": ["cpp/node/llhttp/llhttp_llhttp.c", "cpp/node/llhttp/llhttp_api.c", "cpp/node/llhttp/llhttp_http.c"],
      "include_dirs": ["<(llhttp_dir)", "<(llhttp_include_dir)"],
      "cflags": ["-fvisibility=hidden", "-w"],
      "direct_dependent_settings": {"include_dirs": ["<(llhttp_include_dir)"]},
    },
    {
      "target_name": "alknet_docker",
      "dependencies": ["alk_llhttp"],
      "sources": [
        # (serve's systemd notifications, cpp/util/service_notify.cc, stay out)
        "<!@(ls -1 cpp/util/*.cc cpp/wire/*.cc cpp/docker/*.cc cpp/call/*.cc cpp/ops/*.cc cpp/node/*.cc | grep -v /service_notify.cc)",
        # The QUIC client (connect('quic://…')); the server side stays out.
        "cpp/transport/quic/quic_client.cc",
        "cpp/transport/quic/quic_connection.cc",
        "cpp/transport/quic/quic_link.cc",
        "cpp/transport/quic/quic_stream.cc",
        "cpp/transport/quic/tls_context.cc",
      ],
      "include_dirs": [
        "cpp",
        "<!(node -p \"require('node-addon-api').include_dir\")",
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        # A failed throw while a worker terminates must not be fatal.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
      ],
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags": ["<!@(pkg-config --cflags libngtcp2 libngtcp2_crypto_gnutls gnutls)"],
      "libraries": ["<!@(pkg-config --libs libngtcp2 libngtcp2_crypto_gnutls gnutls)"],
      # Belt and braces next to the hidden visibility: -Bsymbolic binds the addon's references to
      # its own definitions, --exclude-libs keeps the static llhttp library's symbols out of the
      # dynamic table (test/js/addon.test.js checks both with nm). No -luv: the uv_* references
      # resolve to the node binary at load time.
      "ldflags": ["-Wl,-Bsymbolic", "-Wl,--exclude-libs,ALL"],
    },
  ],
}
