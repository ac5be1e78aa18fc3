#!/usr/bin/env bash
# make-certs.sh DIR — test/demo certificates for the QUIC transport, made with certtool (gnutls-bin).
# Every key is ECDSA P-256 (the fastest handshake with GnuTLS). In DIR:
#   ca.crt ca.key                   a CA ("alknet test CA")
#   server.crt server.key           the server's certificate from that CA: SAN DNS:localhost and
#                                   IP:127.0.0.1 (add more with ALK_CERT_DNS / ALK_CERT_IP, comma-separated)
#   client-a.crt client-a.key       five client certificates from that CA (TLS web client),
#   … client-e.crt client-e.key     client-a to client-e: five distinct identities
#   other-ca.crt other-ca.key       a second CA, unrelated to the first
#   other-client.crt other-client.key   a client certificate from the second CA (must be refused)
#   fingerprints.txt                "<name> SHA256:<hex>" per client certificate: the peer ids the
#                                   server logs (sha256 of the certificate's DER)
# Usage for an operator:  serve --cert DIR/server.crt --key DIR/server.key --client-ca DIR/ca.crt
#                         call  --ca DIR/ca.crt --cert DIR/client-a.crt --key DIR/client-a.key
# Existing files in DIR are overwritten. Keys are written mode 0600.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 DIR" >&2
  exit 2
fi
command -v certtool >/dev/null || {
  echo "make-certs: certtool not found (apt-get install gnutls-bin)" >&2
  exit 1
}
DIR=$1
mkdir -p "$DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
umask 077

key() { # key NAME
  certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$DIR/$1.key" 2>/dev/null
}

ca() { # ca NAME CN
  key "$1"
  cat >"$TMP/$1.tmpl" <<EOF
cn = "$2"
ca
cert_signing_key
crl_signing_key
expiration_days = 3650
EOF
  certtool --generate-self-signed --load-privkey "$DIR/$1.key" --template "$TMP/$1.tmpl" \
    --outfile "$DIR/$1.crt" 2>/dev/null
}

leaf() { # leaf NAME CA CN KIND(server|client)
  key "$1"
  {
    echo "cn = \"$3\""
    echo "expiration_days = 825"
    echo "signing_key"
    if [[ $4 == server ]]; then
      echo "tls_www_server"
      local d i
      IFS=, read -ra dns <<<"localhost${ALK_CERT_DNS:+,$ALK_CERT_DNS}"
      IFS=, read -ra ips <<<"127.0.0.1${ALK_CERT_IP:+,$ALK_CERT_IP}"
      for d in "${dns[@]}"; do echo "dns_name = \"$d\""; done
      for i in "${ips[@]}"; do echo "ip_address = \"$i\""; done
    else
      echo "tls_www_client"
    fi
  } >"$TMP/$1.tmpl"
  certtool --generate-certificate --load-privkey "$DIR/$1.key" --load-ca-certificate "$DIR/$2.crt" \
    --load-ca-privkey "$DIR/$2.key" --template "$TMP/$1.tmpl" --outfile "$DIR/$1.crt" 2>/dev/null
}

fingerprint() { # fingerprint NAME -> SHA256:<hex of sha256(DER)>
  local hex
  hex=$(certtool --certificate-info --infile "$DIR/$1.crt" --outder 2>/dev/null | sha256sum | cut -d' ' -f1)
  echo "SHA256:$hex"
}

ca ca "alknet test CA"
leaf server ca "alknet-docker server" server
CLIENTS=(client-a client-b client-c client-d client-e)
for n in "${CLIENTS[@]}"; do leaf "$n" ca "$n" client; done
ca other-ca "alknet other CA"
leaf other-client other-ca "other-client" client
chmod 0644 "$DIR"/*.crt
{
  for n in "${CLIENTS[@]}" other-client; do echo "$n $(fingerprint "$n")"; done
} >"$DIR/fingerprints.txt"
chmod 0644 "$DIR/fingerprints.txt"
echo "make-certs: certificates in $DIR" >&2
