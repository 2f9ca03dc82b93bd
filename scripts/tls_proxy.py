#!/usr/bin/env python3
"""A TLS-terminating TCP proxy with a throw-away test CA: AWS is reached over TLS, moto is not.

    .venv/bin/python scripts/tls_proxy.py --upstream http://127.0.0.1:PORT --dir DIR [--port N]
        [--stdin-lifetime] [--chain-like-aws]

Generates DIR/ca.pem (a self-signed CA, to be trusted through AWS_CA_BUNDLE or SSL_CERT_FILE)
and a server certificate it signed for 127.0.0.1 and localhost (P-256 keys), listens with TLS on 127.0.0.1
(a free port unless --port), and pipes every decrypted connection byte for byte to the upstream
(moto, or the tests' fault proxy in front of it). Prints `listening <port>` on stdout once ready.
With --stdin-lifetime it exits when its stdin reaches EOF, so a test process that holds the pipe
takes the proxy with it however it ends.

With --chain-like-aws the chain is shaped like the one AWS's regional endpoints present: RSA-2048
keys, a root, an intermediate it signed, and the server certificate signed by the intermediate,
the server sending its certificate and the intermediate (as AWS sends "Amazon RSA 2048 M0x" under
"Amazon Root CA 1"). A client then verifies what it verifies with AWS: two RSA signatures in
the chain and one in the handshake. `make bench` uses it.

Needs the `cryptography` package, which moto[server] already installs in the project's venv.
Used by `make bench` (first value over TLS) and by the end-to-end tests (custom CA bundles, and
rustls/ring under qemu on arm64).
"""

import argparse
import asyncio
import datetime
import ipaddress
import os
import ssl
import sys
import threading
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write_certificates(directory, like_aws=False):
    """A CA and a server certificate signed by it (through an intermediate when `like_aws`);
    returns (server chain path, server key path)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    valid = dict(not_valid_before=now - datetime.timedelta(hours=1),
                 not_valid_after=now + datetime.timedelta(days=2))

    def new_key():
        if like_aws:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return ec.generate_private_key(ec.SECP256R1())

    def ca_certificate(name, key, issuer_name, issuer_key, path_length):
        return (x509.CertificateBuilder()
                .subject_name(name).issuer_name(issuer_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(valid["not_valid_before"])
                .not_valid_after(valid["not_valid_after"])
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length),
                               critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(issuer_key, hashes.SHA256()))

    ca_key = new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sidecache test CA")])
    ca = ca_certificate(ca_name, ca_key, ca_name, ca_key, 1 if like_aws else 0)
    issuer_key, issuer_name, chain = ca_key, ca_name, []
    if like_aws:
        issuer_key = new_key()
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                    "sidecache test intermediate")])
        chain = [ca_certificate(issuer_name, issuer_key, ca_name, ca_key, 0)]

    key = new_key()
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(issuer_name)
              .public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(valid["not_valid_before"])
              .not_valid_after(valid["not_valid_after"])
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName("localhost"),
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
              ]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  issuer_key.public_key()), critical=False)
              .sign(issuer_key, hashes.SHA256()))

    os.makedirs(directory, exist_ok=True)
    pem = serialization.Encoding.PEM
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(paths["server.pem"], "wb") as f:
        for certificate in [server] + chain:
            f.write(certificate.public_bytes(pem))
    with open(paths["server.key"], "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths["server.pem"], paths["server.key"]


async def pipe(reader, writer):
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # the other side may already be gone
            pass


async def serve(args, context, upstream_host, upstream_port):
    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", args.port, ssl=context)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="http://host:port to forward to")
    parser.add_argument("--dir", required=True, help="where ca.pem and the server key go")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stdin-lifetime", action="store_true",
                        help="exit when stdin reaches EOF")
    parser.add_argument("--chain-like-aws", action="store_true",
                        help="RSA-2048 root, intermediate and server certificate, as AWS presents")
    args = parser.parse_args()

    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        parser.error("--upstream must look like http://host:port")
    cert, key = write_certificates(args.dir, like_aws=args.chain_like_aws)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    if args.stdin_lifetime:
        def watch_stdin():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        asyncio.run(serve(args, context, upstream.hostname, upstream.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
