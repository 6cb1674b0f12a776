"""The sandbox's local certificate authority, made once and kept on disk.

The CA and a server certificate for `localhost`, `127.0.0.1` and `::1` are written
under the sandbox state folder on first start and reused afterwards, so clients can
keep trusting the same CA file across restarts.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the CA certificate and of the server's certificate chain and key."""

    ca_cert: Path
    server_chain: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context that serves the sandbox certificate (TLS 1.2 or newer)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.server_chain), str(self.server_key))
        return context


def tls_files(folder: Path) -> TlsFiles:
    """Where the CA and server files live under the sandbox state folder."""
    return TlsFiles(
        ca_cert=folder / "ca.pem",
        server_chain=folder / "server-chain.pem",
        server_key=folder / "server-key.pem",
    )


def ensure_ca(folder: Path) -> TlsFiles:
    """Return the sandbox TLS files, generating them with trustme if absent."""
    files = tls_files(folder)
    if all(p.is_file() for p in (files.ca_cert, files.server_chain, files.server_key)):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="ssopoc sandbox")
    leaf = authority.issue_cert(*HOSTS)
    leaf.private_key_pem.write_to_path(str(files.server_key))
    os.chmod(files.server_key, 0o600)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    files.server_chain.write_bytes(chain)
    authority.cert_pem.write_to_path(str(files.ca_cert))
    return files
