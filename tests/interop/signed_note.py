"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 verifier keys, and
C2SP tlog checkpoints (c2sp.org/tlog-checkpoint), written from the specs and
SPEC §3 alone for the interoperability test (no code shared with ledger/note).
"""

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash U+2014 then a space
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_HEX8 = re.compile(r"[0-9a-f]{8}\Z")


class NoteError(Exception):
    """A note, key or checkpoint was malformed or did not verify."""


def b64decode_canonical(text, what):
    """Standard padded base64 (RFC 4648 §4) that must round-trip exactly."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise NoteError("%s: not base64 (%s)" % (what, e))
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError("%s: base64 is not canonical" % what)
    return raw


def _check_key_name(name):
    # signed-note: a key name is non-empty and has no Unicode space and no '+'.
    if not name:
        raise NoteError("key name: empty")
    if "+" in name or any(c.isspace() for c in name):
        raise NoteError("key name: contains a space or '+' (%r)" % name)


def key_hash(name, alg_and_key):
    """First 4 bytes of SHA-256(name || "\\n" || 0x01 || public key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + alg_and_key).digest()[:4]


class VerifierKey:
    def __init__(self, name, hash4, public):
        self.name, self.hash, self.public = name, hash4, public
        self._key = Ed25519PublicKey.from_public_bytes(public)

    def verify(self, sig, msg):
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __str__(self):
        return "%s+%s+%s" % (
            self.name,
            self.hash.hex(),
            base64.b64encode(bytes([ALG_ED25519]) + self.public).decode("ascii"),
        )


def parse_verifier_key(text):
    """"<name>+<8 hex key hash>+<base64(0x01 || 32-byte key)>"; the key hash
    is recomputed and must match."""
    text = text.strip("\n")
    parts = text.split("+", 2)  # the base64 may itself contain '+'
    if len(parts) != 3:
        raise NoteError("verifier key: want name+hash+key, got %r" % text)
    name, hexhash, b64 = parts
    _check_key_name(name)
    if not _HEX8.match(hexhash):
        raise NoteError("verifier key: hash %r is not 8 lowercase hex digits" % hexhash)
    raw = b64decode_canonical(b64, "verifier key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError(
            "verifier key: want 0x01 || 32-byte Ed25519 key, got %d bytes, algorithm %d"
            % (len(raw), raw[0] if raw else -1)
        )
    want = key_hash(name, raw)
    if want.hex() != hexhash:
        raise NoteError("verifier key: key hash %s, computed %s" % (hexhash, want.hex()))
    return VerifierKey(name, want, raw[1:])


def split_note(note):
    """Returns (text bytes, [(name, key hash, signature bytes)]).

    The signed text is everything up to and including the newline before the
    last blank line; the rest is one signature per line, each
    "— <name> <base64(4-byte key hash || signature)>\\n"."""
    if not isinstance(note, (bytes, bytearray)):
        raise NoteError("note: not bytes")
    try:
        note.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError("note: not UTF-8 (%s)" % e)
    i = note.rfind(b"\n\n")
    if i < 0:
        raise NoteError("note: no blank line before the signatures")
    text, sigblock = bytes(note[: i + 1]), bytes(note[i + 2 :])
    for c in text.decode("utf-8"):
        # signed-note: the text has no ASCII control character but newline.
        if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F:
            raise NoteError("note: text contains control character %r" % c)
    if not sigblock or not sigblock.endswith(b"\n"):
        raise NoteError("note: signature block empty or not newline-terminated")
    sigs = []
    for n, line in enumerate(sigblock[:-1].decode("utf-8").split("\n")):
        if not line.startswith(SIG_PREFIX):
            raise NoteError("note: signature line %d does not start with U+2014 and a space" % n)
        rest = line[len(SIG_PREFIX) :]
        fields = rest.split(" ")
        if len(fields) != 2:
            raise NoteError("note: signature line %d: want '<name> <base64>'" % n)
        name, b64 = fields
        _check_key_name(name)
        raw = b64decode_canonical(b64, "note: signature line %d" % n)
        if len(raw) < 5:
            raise NoteError("note: signature line %d: %d bytes, too short" % (n, len(raw)))
        sigs.append((name, raw[:4], raw[4:]))
    return text, sigs


def open_note(note, vkey):
    """Verifies the note with vkey; returns the signed text. Signatures by
    other keys are ignored (signed-note allows co-signatures, e.g. witnesses);
    a signature claiming to be vkey's that fails is an error."""
    text, sigs = split_note(note)
    verified = 0
    for name, h, sig in sigs:
        if name != vkey.name or h != vkey.hash:
            continue
        if len(sig) != 64:
            raise NoteError("note: Ed25519 signature by %s has %d bytes, want 64" % (name, len(sig)))
        if not vkey.verify(sig, text):
            raise NoteError("note: signature by %s does not verify" % name)
        verified += 1
    if verified == 0:
        raise NoteError("note: no signature by %s+%s" % (vkey.name, vkey.hash.hex()))
    return text


class Checkpoint:
    def __init__(self, origin, size, root, extensions):
        self.origin, self.size, self.root, self.extensions = origin, size, root, extensions


def parse_checkpoint(text):
    """tlog-checkpoint body: origin, decimal size (no sign, space or leading
    zero), base64 root hash, then optional non-empty extension lines."""
    s = text.decode("utf-8")
    if not s.endswith("\n"):
        raise NoteError("checkpoint: text does not end in a newline")
    lines = s[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint: %d lines, want at least 3" % len(lines))
    origin, size_s, root_s = lines[:3]
    if not origin:
        raise NoteError("checkpoint: empty origin")
    if not _DECIMAL.match(size_s):
        raise NoteError("checkpoint: size %r is not plain decimal" % size_s)
    size = int(size_s)
    if size >= 1 << 64:
        raise NoteError("checkpoint: size %s exceeds 64 bits" % size_s)
    root = b64decode_canonical(root_s, "checkpoint root")
    if len(root) != 32:
        raise NoteError("checkpoint: root hash has %d bytes, want 32" % len(root))
    ext = lines[3:]
    for e in ext:
        if not e:
            raise NoteError("checkpoint: blank extension line")
    return Checkpoint(origin, size, root, ext)


def open_checkpoint(note, vkey):
    return parse_checkpoint(open_note(note, vkey))
