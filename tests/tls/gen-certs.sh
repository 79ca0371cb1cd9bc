#!/bin/sh
# Makes the certificates the TLS tests use, in directory $1 (created), with the openssl
# command-line tool: a CA, a server certificate for localhost / 127.0.0.1 / ::1, a client
# certificate, a second CA with its own client (not trusted by the server), an expired
# client certificate, and the server key encrypted with the password "1234".
# EC P-256 keys keep it fast (well under a second). docs/security.md explains the steps.
set -e
dir=$1
[ -n "$dir" ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

# A certificate authority (self-signed).
ca() { # name subject
    openssl req -x509 $ec -keyout "$1.key" -out "$1.crt" -days 3650 -subj "$2" 2>/dev/null
}
# A key and certificate signed by a CA: name ca subject [extensions file]
leaf() {
    openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
        -out "$1.crt" -days 3650 ${4:+-extfile "$4"} 2>/dev/null
    rm -f "$1.csr"
}

ca ca "/O=Mayfly Test/CN=Mayfly Test CA"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > server.ext
leaf server ca "/O=Mayfly Test/CN=localhost" server.ext
leaf client ca "/O=Mayfly Test/CN=client"
ca other-ca "/O=Somebody Else/CN=Other CA"
leaf other-client other-ca "/O=Somebody Else/CN=client"

# An expired client certificate: signed by the trusted CA, valid only in 2020.
openssl req $ec -keyout expired-client.key -out expired-client.csr \
    -subj "/O=Mayfly Test/CN=expired" 2>/dev/null
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<EOF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
[any]
commonName = supplied
EOF
openssl ca -batch -config ca-db/ca.cnf -cert ca.crt -keyfile ca.key \
    -startdate 20200101000000Z -enddate 20200102000000Z \
    -in expired-client.csr -out expired-client.crt 2>/dev/null
rm -f expired-client.csr

# The server key with a password (tls-key-file-pass).
openssl pkey -in server.key -out server-encrypted.key -aes256 -passout pass:1234 2>/dev/null
