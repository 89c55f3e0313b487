"""DSSE (secure-systems-lab/dsse, protocol.md) signing for the interoperability
test, written from the protocol text and SPEC §3 (no code shared with
ledger/crypto)."""

import hashlib

PAYLOAD_TYPE_CHANGE = "application/vnd.mlaudit.change.v1+protobuf"


def pae(payload_type, payload):
    """PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
    LEN = ASCII decimal byte count, SP = one space."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def keyid(public):
    """Lowercase hex SHA-256 of the raw 32-byte Ed25519 public key (a hint)."""
    return hashlib.sha256(public).hexdigest()


def sign(private_key, public, payload_type, payload):
    """(keyid, 64-byte Ed25519 signature over the PAE)."""
    return keyid(public), private_key.sign(pae(payload_type, payload))
