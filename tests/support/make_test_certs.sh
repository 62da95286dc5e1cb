#!/usr/bin/env bash
# Makes a throwaway PKI for the TLS tests in DIR (a temp dir the test owns, never the repo), with the openssl
# command: ca.pem/ca.key (a self-signed CA), server.pem/server.key (signed by it, for localhost and 127.0.0.1),
# client.pem/client.key (signed by it, for mutual TLS),
# wrong-name.pem/.key (signed by it for another host name), and other-ca.pem (a CA that signed nothing here).
# EC P-256 keys, valid for two days.
set -euo pipefail
dir=${1:?usage: make_test_certs.sh DIR}
cd "$dir"
curve=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${curve[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=libsql-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -x509 "${curve[@]}" -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=libsql-test-other-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
sign() {  # NAME CN EXTENSIONS
  openssl req "${curve[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM$RANDOM" -days 2 -out "$1.pem" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server localhost \
  'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1\n'
sign wrong-name elsewhere.test \
  'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.test\n'
sign client libsql-test-client \
  'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n'
chmod 600 ./*.key
