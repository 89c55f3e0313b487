"""mlaudit key files, read and written from their documented format (the
header comment of ledger/crypto/crypto_keyfile.c), not with our C code:

    mlaudit-private-key-v1        or   mlaudit-public-key-v1
    algorithm: ed25519                 algorithm: ed25519
    public: <base64 of 32 bytes>       public: <base64 of 32 bytes>
    seed: <base64 of 32 bytes>

Every line ends in LF; nothing else is allowed; base64 is standard, padded,
canonical; private files are mode 0600 and refused with group/other bits."""

import base64
import binascii
import os
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_HEADER = "mlaudit-private-key-v1"
PUBLIC_HEADER = "mlaudit-public-key-v1"


class KeyFileError(Exception):
    pass


def _b64_32(path, lineno, line, field):
    prefix = field + ": "
    if not line.startswith(prefix):
        raise KeyFileError("%s:%d: want '%s<base64>'" % (path, lineno, prefix))
    v = line[len(prefix):]
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError("%s:%d: %s: not base64" % (path, lineno, field))
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != v:
        raise KeyFileError("%s:%d: %s: not canonical base64 of 32 bytes" % (path, lineno, field))
    return raw


def raw_public(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def read_private(path):
    """Returns (Ed25519PrivateKey, raw 32-byte public key)."""
    st = os.stat(path)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError("%s: private key readable by group or others" % path)
    with open(path, "rb") as f:
        data = f.read(4097)
    if len(data) > 4096:
        raise KeyFileError("%s: larger than 4 KiB" % path)
    text = data.decode("ascii")
    if not text.endswith("\n") or "\r" in text:
        raise KeyFileError("%s: lines must end in LF" % path)
    lines = text[:-1].split("\n")
    if len(lines) != 4:
        raise KeyFileError("%s: %d lines, want 4" % (path, len(lines)))
    if lines[0] != PRIVATE_HEADER:
        raise KeyFileError("%s:1: want %r" % (path, PRIVATE_HEADER))
    if lines[1] != "algorithm: ed25519":
        raise KeyFileError("%s:2: want 'algorithm: ed25519'" % path)
    public = _b64_32(path, 3, lines[2], "public")
    seed = _b64_32(path, 4, lines[3], "seed")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    if raw_public(key) != public:
        raise KeyFileError("%s: public is not the key the seed derives" % path)
    return key, public


def _format(public, seed=None):
    b = lambda x: base64.b64encode(x).decode("ascii")
    text = "%s\nalgorithm: ed25519\npublic: %s\n" % (
        PRIVATE_HEADER if seed else PUBLIC_HEADER, b(public))
    if seed:
        text += "seed: %s\n" % b(seed)
    return text.encode("ascii")


def _write_new(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def generate(private_path, public_path):
    """Writes a new key pair; returns the raw public key."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw,
                             serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    public = raw_public(key)
    _write_new(private_path, _format(public, seed), 0o600)
    _write_new(public_path, _format(public), 0o644)
    return public


def write_public_of(private_path, public_path):
    """Writes the public key file belonging to a private key file."""
    _, public = read_private(private_path)
    _write_new(public_path, _format(public), 0o644)


if __name__ == "__main__":
    # Used by test_interop.sh when the mlaudit CLI is not built:
    #   keyfile.py generate PRIVATE PUBLIC | keyfile.py public PRIVATE PUBLIC
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "public":
        write_public_of(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: keyfile.py generate|public PRIVATE PUBLIC")
