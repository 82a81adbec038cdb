#!/usr/bin/env python3
"""Create the coordinator's TLS material and the sites' SuperNode keys for a fedft federation.

Writes into OUT (refusing to overwrite existing keys unless --force):

    OUT/ca.crt, OUT/ca.key              private CA (keep ca.key offline once certs are issued)
    OUT/server.crt, OUT/server.key      SuperLink certificate, SAN = the given names and IPs
                                        (+ localhost and 127.0.0.1, for checks on the host)
    OUT/sites/<site>/supernode.key      OpenSSH EC P-384 private key  (--site, repeatable)
    OUT/sites/<site>/supernode.pub      OpenSSH public key, to register with the SuperLink
    OUT/sites/<site>/ca.crt             copy of the CA certificate the site verifies TLS with
    OUT/sites.csv                       site, public-key file, SHA-256 fingerprint

Keys are written with mode 0600. Flower 1.41 authenticates SuperNodes by NIST-curve EC keys in
OpenSSH format: the SuperNode signs each request with `--auth-supernode-private-key`, and the
SuperLink (`--enable-supernode-auth`) admits only public keys registered with
`flwr supernode register <site>.pub <connection>`. Better still, each site creates its own
pair (`--site` here, or `ssh-keygen -t ecdsa -b 384`) and sends only the .pub: then no one
else ever holds its private key.

    python server/setup_tls.py --out certs --hostname fl.example.org --ip 203.0.113.7 \
        --site hospital-a --site hospital-b
    python server/setup_tls.py --out site-keys --site hospital-c --no-server   # at a site
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import hashlib
import ipaddress
import os
import re
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# A DNS name as sites will dial it (RFC 1123 labels); no wildcards: the certificate names one host.
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _valid_hostname(name: str) -> bool:
    return 0 < len(name) <= 253 and all(HOST_LABEL.match(p) for p in name.rstrip(".").split("."))


def _write(path: Path, data: bytes, *, private: bool, force: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not force:
        raise SystemExit(f"{path} exists; refusing to overwrite it (use --force to replace)")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    # Created with the final mode: a key never exists on disk world-readable, even briefly.
    fd = os.open(path, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600 if private else 0o644)  # O_CREAT's mode does not apply to old files


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fedft federation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(*, days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("fedft federation CA"))
        .issuer_name(_name("fedft federation CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    return key, cert


def make_server_cert(
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hostnames: list[str],
    ips: list[str],
    days: int,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `hostnames` and `ips`; with `key`, for that existing key."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    names = list(dict.fromkeys([*hostnames, "localhost"]))
    addresses = list(dict.fromkeys([*ips, "127.0.0.1"]))
    san = [x509.DNSName(h) for h in names] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in addresses
    ]
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=False, key_cert_sign=False,
                crl_sign=False, content_commitment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA384())
    )
    return key, cert


def make_site_keys(site: str) -> tuple[bytes, bytes, str]:
    """(OpenSSH private key, OpenSSH public key line, SHA256 fingerprint as ssh-keygen -l)."""
    key = ec.generate_private_key(ec.SECP384R1())  # Flower's docs use P-384
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    blob = base64.b64decode(public.split()[1])
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return private, public + f" fedft-site-{site}\n".encode(), fingerprint


def _load_server_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{path}: not an EC private key; remove it or use --force")
    return key


def _load_existing_ca(out: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    key_path, cert_path = out / "ca.key", out / "ca.crt"
    if not (key_path.exists() and cert_path.exists()):
        return None
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{key_path}: not an EC private key")
    return key, x509.load_pem_x509_certificate(cert_path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--hostname", action="append", default=[], help="DNS name of the SuperLink (repeatable)"
    )
    parser.add_argument(
        "--ip", action="append", default=[], help="IP address of the SuperLink (repeatable)"
    )
    parser.add_argument(
        "--site", action="append", default=[],
        help="site to create a SuperNode key pair for (repeatable)",
    )
    parser.add_argument(
        "--no-server", action="store_true",
        help="only create site keys (no CA, no server certificate)",
    )
    parser.add_argument("--ca-days", type=int, default=1825)
    parser.add_argument("--server-days", type=int, default=397)
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)

    out: Path = args.out
    problems = [
        f"--site {s!r}: use letters, digits, '.', '_' or '-' (max 63)"
        for s in args.site
        if not SITE_NAME.match(s)
    ]
    problems += [
        f"--hostname {h!r}: not a DNS name (letters, digits, '-' per label; no wildcards)"
        for h in args.hostname
        if not _valid_hostname(h)
    ]
    for ip in args.ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            problems.append(f"--ip {ip!r}: not an IPv4/IPv6 address")
    if args.no_server and not args.site:
        problems.append("--no-server needs at least one --site")
    if not args.force:
        problems += [
            f"{out / 'sites' / s / 'supernode.key'} exists; refusing to overwrite it (use --force)"
            for s in args.site
            if (out / "sites" / s / "supernode.key").exists()
        ]
    if problems:
        parser.error("; ".join(problems))
    out.mkdir(parents=True, exist_ok=True)

    ca_cert_pem: bytes | None = None
    if not args.no_server:
        existing = None if args.force else _load_existing_ca(out)
        if existing:
            # Re-running to add a server name or sites keeps the CA the sites already trust.
            ca_key, ca_cert = existing
            print(f"using existing CA {out / 'ca.crt'}")
        else:
            ca_key, ca_cert = make_ca(days=args.ca_days)
            _write(out / "ca.key", _pem_key(ca_key), private=True, force=args.force)
            ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
            _write(out / "ca.crt", ca_pem, private=False, force=args.force)
        # The server certificate is re-issued on every run (e.g. to add a name), for the
        # existing server key: a key is replaced only with --force.
        old_key = None if args.force else _load_server_key(out / "server.key")
        server_key, server_cert = make_server_cert(
            ca_key=ca_key, ca_cert=ca_cert, hostnames=args.hostname, ips=args.ip,
            days=args.server_days, key=old_key,
        )
        if old_key is None:
            _write(out / "server.key", _pem_key(server_key), private=True, force=args.force)
        server_pem = server_cert.public_bytes(serialization.Encoding.PEM)
        _write(out / "server.crt", server_pem, private=False, force=True)
        ca_cert_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        sans = server_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        print(f"server certificate for {', '.join(str(n.value) for n in sans)}")

    rows = []
    for site in args.site:
        folder = out / "sites" / site
        private, public, fingerprint = make_site_keys(site)
        _write(folder / "supernode.key", private, private=True, force=args.force)
        _write(folder / "supernode.pub", public, private=False, force=args.force)
        if ca_cert_pem is not None:
            _write(folder / "ca.crt", ca_cert_pem, private=False, force=True)
        rows.append((site, str(folder / "supernode.pub"), fingerprint))
        print(f"site {site}: {fingerprint}")
    if rows:
        index = out / "sites.csv"
        new = not index.exists()
        with index.open("a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["site", "public_key", "sha256_fingerprint"])
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
