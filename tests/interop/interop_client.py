#!/usr/bin/python3
"""An independent second client for mlauditd, in Python, built only from the
wire contract (proto/mlaudit/v1/*.proto) and the published formats (SPEC §3):
RFC 9162 Merkle proofs, DSSE, C2SP signed-note checkpoints. It shares no code
with the C implementation; if the two disagree on a byte, this test fails.

Steps:
  1. self-test the verifiers here against published vectors
     (tests/vectors/rfc6962_merkle.txt, note_sumdb.txt, dsse_pae.txt);
  2. read a writer key file and the log's verifier key;
  3. fetch and verify the current checkpoint; append one signed MODEL change;
  4. verify the receipt: checkpoint signature, tlog body, leaf hash of the
     stored entry bytes, inclusion proof, the stored entry's fields, the hash
     chain and the root over every leaf;
  5. verify consistency proofs from the earlier checkpoint (and from every
     earlier size) to the new one; resend the same envelope and expect the
     same receipt.

Prints one summary line and exits 0, or prints "interop: FAIL: ..." and exits
1 (2 for usage errors). Run with Debian's /usr/bin/python3 (python3-grpcio,
python3-grpc-tools, python3-protobuf, python3-cryptography)."""

import argparse
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, HERE)

import dsse  # noqa: E402
import keyfile  # noqa: E402
import rfc9162  # noqa: E402
import signed_note  # noqa: E402

RPC_TIMEOUT = 30.0
MAX_FULL_CHECK = 100000  # recompute the whole tree only for logs this small
MAX_CONSISTENCY_SIZES = 64


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---- self-test against published vectors -----------------------------------


def _load_merkle_vectors(path):
    v = {"leaf": {}, "node": {}, "root": {}, "inclusion": [], "consistency": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            w = line.split()
            if w[0] == "leaf":
                v["leaf"][int(w[1])] = bytes.fromhex(w[2]) if len(w) > 2 else b""
            elif w[0] == "node":
                v["node"][(int(w[1]), int(w[2]))] = bytes.fromhex(w[3])
            elif w[0] == "root":
                v["root"][int(w[1])] = bytes.fromhex(w[2])
            elif w[0] in ("inclusion", "consistency"):
                v[w[0]].append((int(w[1]), int(w[2]), [bytes.fromhex(h) for h in w[3:]]))
            else:
                raise Fail("%s: unknown line %r" % (path, line))
    return v


def _flip(b, i=0):
    b = bytearray(b)
    b[i] ^= 1
    return bytes(b)


def _must_fail(fn, what):
    try:
        fn()
    except rfc9162.ProofError:
        return
    raise Fail("self-test: %s verified but must not" % what)


def selftest_merkle(path):
    v = _load_merkle_vectors(path)
    leaves = [v["leaf"][i] for i in range(len(v["leaf"]))]
    check(len(leaves) == 8 and v["inclusion"] and v["consistency"], "%s: incomplete" % path)
    n_checks = 0
    for (level, index), want in v["node"].items():
        sub = leaves[index << level : (index + 1) << level]
        check(rfc9162.mth(sub) == want, "self-test: node %d %d mismatch" % (level, index))
        n_checks += 1
    for size, want in v["root"].items():
        check(rfc9162.mth(leaves[:size]) == want, "self-test: MTH of %d leaves" % size)
        lh = [rfc9162.leaf_hash(x) for x in leaves[:size]]
        check(rfc9162.root_from_leaf_hashes(lh) == want, "self-test: iterative root %d" % size)
        n_checks += 1
    roots = v["root"]
    for idx, size, p in v["inclusion"]:
        lh = rfc9162.leaf_hash(leaves[idx])
        try:
            rfc9162.verify_inclusion(lh, idx, size, p, roots[size])
        except rfc9162.ProofError as e:
            raise Fail("self-test: inclusion %d/%d: %s" % (idx, size, e))
        check(rfc9162.path(idx, leaves[:size]) == p, "self-test: PATH(%d, D[%d])" % (idx, size))
        _must_fail(lambda: rfc9162.verify_inclusion(_flip(lh), idx, size, p, roots[size]), "bad leaf")
        _must_fail(lambda: rfc9162.verify_inclusion(lh, idx, size, p, _flip(roots[size])), "bad root")
        _must_fail(lambda: rfc9162.verify_inclusion(lh, idx, size, p + [lh], roots[size]), "long path")
        if p:
            _must_fail(lambda: rfc9162.verify_inclusion(lh, idx, size, p[:-1], roots[size]), "short path")
            for j in range(len(p)):
                q = list(p)
                q[j] = _flip(q[j], 31)
                _must_fail(lambda: rfc9162.verify_inclusion(lh, idx, size, q, roots[size]), "bad path")
        _must_fail(lambda: rfc9162.verify_inclusion(lh, idx + 1, size, p, roots[size]), "wrong index")
        _must_fail(lambda: rfc9162.verify_inclusion(lh, size, size, p, roots[size]), "index = size")
        n_checks += 1
    for m, n, p in v["consistency"]:
        try:
            rfc9162.verify_consistency(m, n, roots[m], roots[n], p)
        except rfc9162.ProofError as e:
            raise Fail("self-test: consistency %d->%d: %s" % (m, n, e))
        check(rfc9162.proof(m, leaves[:n]) == p, "self-test: PROOF(%d, D[%d])" % (m, n))
        _must_fail(lambda: rfc9162.verify_consistency(m, n, _flip(roots[m]), roots[n], p), "bad first root")
        _must_fail(lambda: rfc9162.verify_consistency(m, n, roots[m], _flip(roots[n]), p), "bad second root")
        _must_fail(lambda: rfc9162.verify_consistency(m, n, roots[m], roots[n], p + [roots[m]]), "long proof")
        for j in range(len(p)):
            q = list(p)
            q[j] = _flip(q[j], 7)
            _must_fail(lambda: rfc9162.verify_consistency(m, n, roots[m], roots[n], q), "bad proof")
        if p:
            _must_fail(lambda: rfc9162.verify_consistency(m, n, roots[m], roots[n], p[:-1]), "short proof")
        n_checks += 1
    _must_fail(lambda: rfc9162.verify_consistency(0, 8, roots[0], roots[8], []), "from 0")
    _must_fail(lambda: rfc9162.verify_consistency(0, 8, roots[0], roots[8], [roots[8]]), "from 0")
    # Beyond the published proofs: every (index, size) and (m, n) over the
    # vector leaves, with proofs built from the RFC's recursive definitions.
    for n in range(1, len(leaves) + 1):
        for i in range(n):
            lh = rfc9162.leaf_hash(leaves[i])
            rfc9162.verify_inclusion(lh, i, n, rfc9162.path(i, leaves[:n]), roots[n])
            n_checks += 1
        for m in range(1, n + 1):
            rfc9162.verify_consistency(m, n, roots[m], roots[n], rfc9162.proof(m, leaves[:n]))
            if m < n:
                _must_fail(lambda: rfc9162.verify_consistency(
                    m, n, roots[m - 1] if m > 1 else _flip(roots[1]), roots[n],
                    rfc9162.proof(m, leaves[:n])), "consistency with another first root")
            n_checks += 1
    return n_checks


def _load_kv(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            k, _, val = line.partition(": ")
            out[k] = val.replace("\\n", "\n")
    return out


def _note_must_fail(fn, what):
    try:
        fn()
    except signed_note.NoteError:
        return
    raise Fail("self-test: %s accepted but must not" % what)


def selftest_note(path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    v = _load_kv(path)
    n_checks = 0
    peter = signed_note.parse_verifier_key(v["peter.vkey"])
    check(str(peter) == v["peter.vkey"], "self-test: peter vkey does not round-trip")
    note = v["peter.note"].encode("utf-8")
    text = signed_note.open_note(note, peter)
    check(text == v["peter.text"].encode("utf-8"), "self-test: peter note text")
    n_checks += 1
    # The published signer key signs the published text to the published
    # signature: our signing path (cryptography's Ed25519) is byte-exact.
    skey = v["peter.skey"].split("+", 4)  # the base64 may contain "+"
    seed = signed_note.b64decode_canonical(skey[4], "peter.skey")[1:]
    sig = Ed25519PrivateKey.from_private_bytes(seed).sign(text)
    _, sigs = signed_note.split_note(note)
    check(sigs == [("PeterNeumann", peter.hash, sig)], "self-test: peter signature differs")
    n_checks += 1
    enoch = signed_note.parse_verifier_key(v["enoch.vkey"])
    both = note + v["enoch.sigline"].encode("utf-8")
    check(signed_note.open_note(both, enoch) == text, "self-test: enoch co-signature")
    check(signed_note.open_note(both, peter) == text, "self-test: peter with co-signature")
    n_checks += 2
    _note_must_fail(lambda: signed_note.open_note(note, enoch), "note without enoch's signature")
    _note_must_fail(lambda: signed_note.open_note(note.replace(b"answer", b"anwser"), peter), "altered text")
    _note_must_fail(lambda: signed_note.open_note(note[:-1], peter), "unterminated signature")
    _note_must_fail(lambda: signed_note.open_note(note.replace("\u2014".encode(), b"-"), peter), "ASCII dash")
    for k in ("bad_vkey.length", "bad_vkey.algorithm"):
        _note_must_fail(lambda: signed_note.parse_verifier_key(v[k]), k)
    wrong_hash = v["peter.vkey"].replace("c74f20a3", "c74f20a4")
    _note_must_fail(lambda: signed_note.parse_verifier_key(wrong_hash), "vkey with a wrong key hash")
    n_checks += 7
    sumdb = signed_note.parse_verifier_key(v["sumdb.vkey"])
    cp = signed_note.open_checkpoint(v["sumdb.checkpoint"].encode("utf-8"), sumdb)
    check(cp.origin == v["sumdb.origin"] and cp.size == int(v["sumdb.size"])
          and cp.root == signed_note.b64decode_canonical(v["sumdb.root"], "sumdb.root")
          and cp.extensions == [], "self-test: sumdb checkpoint fields")
    n_checks += 1
    c2sp = v["c2sp.checkpoint"].encode("utf-8")
    t, _ = signed_note.split_note(c2sp)
    check(signed_note.parse_checkpoint(t).size == 20852163, "self-test: c2sp checkpoint size")
    _note_must_fail(lambda: signed_note.open_note(c2sp, sumdb), "c2sp checkpoint with another key")
    t, s = signed_note.split_note(v["c2sp.note"].encode("utf-8"))
    check(t.endswith(b"\n\ned \xc3\xa8 subito sera.\n") and len(s) == 1, "self-test: c2sp note split")
    n_checks += 3
    good = b"o\n1\n" + v["sumdb.root"].encode() + b"\n"
    for bad, what in ((b"o\n01\n", "leading zero"), (b"o\n+1\n", "sign"), (b"o\n 1\n", "space"),
                      (b"\n1\n", "empty origin")):
        _note_must_fail(lambda: signed_note.parse_checkpoint(bad + v["sumdb.root"].encode() + b"\n"), what)
    _note_must_fail(lambda: signed_note.parse_checkpoint(good + b"\n"), "blank extension line")
    _note_must_fail(lambda: signed_note.parse_checkpoint(good[:-1]), "unterminated checkpoint")
    _note_must_fail(lambda: signed_note.parse_checkpoint(b"o\n1\nAAAA\n"), "short root")
    check(signed_note.parse_checkpoint(good + b"ext\n").extensions == ["ext"], "self-test: extension")
    n_checks += 8
    return n_checks


def selftest_dsse(path):
    v = {}
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"#"):
                continue
            k, _, val = line.rstrip(b"\n").partition(b": ")
            v[k.decode()] = val
    check(dsse.pae(v["type"].decode(), v["payload"]) == v["pae"], "self-test: DSSE PAE vector")
    return 1


def selftest(vectors):
    return (selftest_merkle(os.path.join(vectors, "rfc6962_merkle.txt"))
            + selftest_note(os.path.join(vectors, "note_sumdb.txt"))
            + selftest_dsse(os.path.join(vectors, "dsse_pae.txt")))


# ---- protobuf plumbing -------------------------------------------------------


def load_stubs(proto_dir, tmp):
    protos = sorted(
        os.path.join("mlaudit", "v1", n)
        for n in os.listdir(os.path.join(proto_dir, "mlaudit", "v1"))
        if n.endswith(".proto"))
    r = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "--python_out=" + tmp,
         "--grpc_python_out=" + tmp] + protos,
        capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail("grpc_tools.protoc failed: %s" % r.stderr.strip())
    sys.path.insert(0, tmp)
    return (importlib.import_module("mlaudit.v1.ledger_pb2"),
            importlib.import_module("mlaudit.v1.ledger_pb2_grpc"),
            importlib.import_module("mlaudit.v1.entry_pb2"),
            importlib.import_module("mlaudit.v1.change_pb2"))


def _varint(b, i):
    x = shift = 0
    while True:
        if i >= len(b) or shift > 63:
            raise Fail("entry: truncated or overlong varint")
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return x, i


def raw_fields(b):
    """Top-level protobuf wire fields as [(number, wire type, raw value)], so
    the envelope's bytes inside the stored entry can be compared verbatim."""
    out, i = [], 0
    while i < len(b):
        tag, i = _varint(b, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            start = i
            _, i = _varint(b, i)
            out.append((num, wt, b[start:i]))
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            out.append((num, wt, b[i:i + n]))
            i += n
        elif wt == 2:
            n, i = _varint(b, i)
            out.append((num, wt, b[i:i + n]))
            i += n
        else:
            raise Fail("entry: wire type %d" % wt)
        if i > len(b):
            raise Fail("entry: field %d runs past the end" % num)
    return out


# ---- talking to the server ---------------------------------------------------


def read_vkey(arg):
    if arg.startswith("@"):
        with open(arg[1:], encoding="utf-8") as f:
            text = f.read()
        check(text.endswith("\n") and text.count("\n") == 1,
              "%s: want one LF-terminated line" % arg[1:])
        arg = text[:-1]
    return signed_note.parse_verifier_key(arg)


def verified_checkpoint(note, vkey, what):
    try:
        cp = signed_note.open_checkpoint(note, vkey)
    except signed_note.NoteError as e:
        raise Fail("%s checkpoint: %s\n--- note ---\n%s" % (what, e, note.decode("utf-8", "replace")))
    if cp.size == 0:
        check(cp.root == rfc9162.empty_root(), "%s checkpoint: size 0 with a root other than SHA-256('')"
              % what)
    return cp


def fetch_entries(stub, pb, start, end):
    got = []
    for resp in stub.GetEntries(pb.GetEntriesRequest(start=start, end=end), timeout=RPC_TIMEOUT):
        check(len(resp.entries) <= 256, "GetEntries: %d entries in one message (limit 256)"
              % len(resp.entries))
        got.extend(resp.entries)
    check(len(got) == end - start, "GetEntries [%d, %d): %d entries" % (start, end, len(got)))
    for k, se in enumerate(got):
        check(se.seq == start + k, "GetEntries: entry %d has seq %d" % (start + k, se.seq))
    return got


def run(args, pb, pb_grpc, entry_pb, change_pb):
    import grpc

    key, public = keyfile.read_private(args.key)
    vkey = read_vkey(args.log_key)

    channel = grpc.insecure_channel(args.server)
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
    except grpc.FutureTimeoutError:
        raise Fail("cannot reach %s within 10 s" % args.server)
    stub = pb_grpc.LedgerStub(channel)

    before = verified_checkpoint(
        stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=RPC_TIMEOUT).checkpoint.note,
        vkey, "GetCheckpoint")

    # -- build, sign and append one change --
    version = args.version or "0.0.%d" % time.time_ns()
    change = change_pb.Change(
        kind=change_pb.KIND_MODEL,
        subject=change_pb.Artifact(type="model", name="py-interop", version=version,
                                   digest=hashlib.sha256(b"py-interop@" + version.encode()).digest()),
        inputs=[change_pb.Input(
            artifact=change_pb.Artifact(type="dataset", name="py-interop-data", version="1",
                                        digest=hashlib.sha256(b"py-interop-data@1").digest()),
            role="training-data")],
        actor="interop-client@python",
        reason="interoperability test: an independent Python client appends and verifies",
        client_time_ns=time.time_ns())
    payload = change.SerializeToString()
    kid, sig = dsse.sign(key, public, dsse.PAYLOAD_TYPE_CHANGE, payload)
    check(len(sig) == 64, "Ed25519 signature length %d" % len(sig))
    env = entry_pb.Envelope(payload=payload, payload_type=dsse.PAYLOAD_TYPE_CHANGE,
                            signatures=[entry_pb.Signature(sig=sig, keyid=kid)])
    receipt = stub.Append(pb.AppendRequest(envelope=env), timeout=RPC_TIMEOUT).receipt

    # -- the receipt's checkpoint and proof --
    cp = verified_checkpoint(receipt.checkpoint.note, vkey, "receipt")
    check(cp.origin == before.origin, "receipt checkpoint origin %r, earlier %r" % (cp.origin, before.origin))
    check(cp.size >= before.size + 1, "receipt checkpoint size %d, earlier %d" % (cp.size, before.size))
    check(receipt.seq >= before.size and receipt.seq < cp.size,
          "receipt seq %d not in [%d, %d)" % (receipt.seq, before.size, cp.size))
    inc = receipt.inclusion
    check(inc.leaf_index == receipt.seq, "inclusion leaf_index %d, seq %d" % (inc.leaf_index, receipt.seq))
    check(inc.tree_size == cp.size, "inclusion tree_size %d, checkpoint size %d" % (inc.tree_size, cp.size))
    check(len(receipt.leaf_hash) == 32, "receipt leaf_hash: %d bytes" % len(receipt.leaf_hash))
    try:
        rfc9162.verify_inclusion(receipt.leaf_hash, inc.leaf_index, inc.tree_size, list(inc.hashes), cp.root)
    except rfc9162.ProofError as e:
        raise Fail("receipt inclusion proof: %s" % e)

    # -- the stored entry, hashed by us --
    full = cp.size <= MAX_FULL_CHECK
    start = 0 if full else receipt.seq
    stored = fetch_entries(stub, pb, start, cp.size)
    leaf_hashes = []
    prev_leaf, prev_time = None, None
    for se in stored:
        if se.redacted:
            check(not se.entry and len(se.leaf_hash) == 32, "redacted entry %d" % se.seq)
            lh = se.leaf_hash
            e = None
        else:
            lh = rfc9162.leaf_hash(se.entry)
            check(se.leaf_hash == lh, "entry %d: stored leaf_hash %s, SHA-256(0x00||entry) %s"
                  % (se.seq, se.leaf_hash.hex(), lh.hex()))
            e = entry_pb.Entry.FromString(se.entry)
            check(e.seq == se.seq, "entry %d: decoded seq %d" % (se.seq, e.seq))
            check(len(e.prev_hash) == 32, "entry %d: prev_hash %d bytes" % (se.seq, len(e.prev_hash)))
            if se.seq == 0:
                check(e.prev_hash == bytes(32), "entry 0: prev_hash not 32 zero bytes")
            elif prev_leaf is not None:
                check(e.prev_hash == prev_leaf, "entry %d: prev_hash %s, leaf hash of %d is %s"
                      % (se.seq, e.prev_hash.hex(), se.seq - 1, prev_leaf.hex()))
            if prev_time is not None:
                check(e.ledger_time_ns >= prev_time, "entry %d: ledger time goes backwards" % se.seq)
            prev_time = e.ledger_time_ns
        leaf_hashes.append(lh)
        prev_leaf = lh
        if se.seq == receipt.seq:
            check(e is not None, "our entry %d is redacted" % se.seq)
            check(lh == receipt.leaf_hash, "receipt leaf_hash %s, SHA-256(0x00||entry %d) %s"
                  % (receipt.leaf_hash.hex(), se.seq, lh.hex()))
            check(e.ledger_time_ns == receipt.ledger_time_ns,
                  "entry ledger_time_ns %d, receipt %d" % (e.ledger_time_ns, receipt.ledger_time_ns))
            check(e.envelope == env, "stored envelope differs from the one sent")
            raw_env = [f for f in raw_fields(se.entry) if f[0] == 4]
            check(len(raw_env) == 1 and raw_env[0][1] == 2, "entry: want one envelope field")
            check(raw_env[0][2] == env.SerializeToString(),
                  "stored envelope bytes differ from the bytes sent:\n sent   %s\n stored %s"
                  % (env.SerializeToString().hex(), raw_env[0][2].hex()))
            check(e.envelope.payload == payload, "stored payload differs")
            check(e.submitter != "", "entry: empty submitter")
            our_entry = e
    if full:
        root = rfc9162.root_from_leaf_hashes(leaf_hashes)
        check(root == cp.root, "root over %d leaves %s, checkpoint root %s"
              % (cp.size, root.hex(), cp.root.hex()))
        if before.size > 0:
            check(rfc9162.root_from_leaf_hashes(leaf_hashes[:before.size]) == before.root,
                  "root over the first %d leaves differs from the earlier checkpoint" % before.size)

    # -- inclusion proofs on request, by seq and by leaf hash --
    for req, what in ((pb.GetInclusionProofRequest(seq=receipt.seq, tree_size=cp.size), "seq"),
                      (pb.GetInclusionProofRequest(leaf_hash=receipt.leaf_hash, tree_size=cp.size),
                       "leaf_hash")):
        r = stub.GetInclusionProof(req, timeout=RPC_TIMEOUT)
        check(r.proof.leaf_index == receipt.seq and r.proof.tree_size == cp.size,
              "GetInclusionProof by %s: index %d size %d" % (what, r.proof.leaf_index, r.proof.tree_size))
        check(r.leaf_hash == receipt.leaf_hash, "GetInclusionProof by %s: leaf_hash differs" % what)
        try:
            rfc9162.verify_inclusion(r.leaf_hash, r.proof.leaf_index, r.proof.tree_size,
                                     list(r.proof.hashes), cp.root)
        except rfc9162.ProofError as e:
            raise Fail("GetInclusionProof by %s: %s" % (what, e))

    # -- consistency: from the earlier signed checkpoint, and from every
    #    earlier size with roots we computed ourselves --
    def consistency(m, root_m, what):
        r = stub.GetConsistencyProof(pb.GetConsistencyProofRequest(from_size=m, to_size=cp.size),
                                     timeout=RPC_TIMEOUT)
        check(r.proof.from_size == m and r.proof.to_size == cp.size,
              "GetConsistencyProof %d->%d: answered %d->%d" % (m, cp.size, r.proof.from_size, r.proof.to_size))
        try:
            rfc9162.verify_consistency(m, cp.size, root_m, cp.root, list(r.proof.hashes))
        except rfc9162.ProofError as e:
            raise Fail("consistency %d->%d (%s): %s" % (m, cp.size, what, e))

    n_cons = 0
    if before.size > 0:
        consistency(before.size, before.root, "earlier checkpoint")
        n_cons += 1
    if full:
        for m in range(max(1, cp.size - MAX_CONSISTENCY_SIZES), cp.size + 1):
            consistency(m, rfc9162.root_from_leaf_hashes(leaf_hashes[:m]), "computed root")
            n_cons += 1
    try:
        stub.GetConsistencyProof(pb.GetConsistencyProofRequest(from_size=0, to_size=cp.size),
                                 timeout=RPC_TIMEOUT)
        raise Fail("GetConsistencyProof from size 0 was answered; it must be refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "from_size" in (e.details() or ""),
              "GetConsistencyProof from 0: %s %r, want INVALID_ARGUMENT naming from_size"
              % (e.code().name, e.details()))

    # -- a retry of the identical envelope returns the original receipt --
    again = stub.Append(pb.AppendRequest(envelope=env), timeout=RPC_TIMEOUT).receipt
    check(again.seq == receipt.seq and again.leaf_hash == receipt.leaf_hash,
          "resent envelope: seq %d leaf %s, original seq %d leaf %s"
          % (again.seq, again.leaf_hash.hex(), receipt.seq, receipt.leaf_hash.hex()))
    cp2 = verified_checkpoint(again.checkpoint.note, vkey, "retry receipt")
    rfc9162.verify_inclusion(again.leaf_hash, again.inclusion.leaf_index, again.inclusion.tree_size,
                             list(again.inclusion.hashes), cp2.root)
    channel.close()
    return receipt, cp, before, n_cons, our_entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", help="mlauditd address HOST:PORT (plaintext)")
    ap.add_argument("--key", help="writer private key file (mlaudit-private-key-v1)")
    ap.add_argument("--log-key", help="the log's verifier key, or @FILE (e.g. @DATA_DIR/log.vkey)")
    ap.add_argument("--version", help="subject version to record (default: unique per run)")
    ap.add_argument("--proto-dir", default=os.path.join(HERE, "..", "..", "proto"))
    ap.add_argument("--vectors", default=os.path.join(HERE, "..", "vectors"))
    ap.add_argument("--selftest-only", action="store_true", help="check against the vectors and stop")
    args = ap.parse_args()
    if not args.selftest_only and not (args.server and args.key and args.log_key):
        ap.print_usage(sys.stderr)
        print("interop: --server, --key and --log-key are required", file=sys.stderr)
        return 2
    try:
        n_vec = selftest(args.vectors)
        if args.selftest_only:
            print("interop: OK self-test: %d checks against published vectors" % n_vec)
            return 0
        with tempfile.TemporaryDirectory(prefix="mla-interop-") as tmp:
            stubs = load_stubs(args.proto_dir, tmp)
            receipt, cp, before, n_cons, e = run(args, *stubs)
        print("interop: OK seq=%d tree_size=%d root=%s origin=%r: vectors (%d checks), checkpoint "
              "signature, leaf hash, inclusion, chain, root over all leaves, %d consistency proofs "
              "(earlier size %d), retry; submitter=%r"
              % (receipt.seq, cp.size, cp.root.hex(), cp.origin, n_vec, n_cons, before.size, e.submitter))
        return 0
    except Fail as e:
        print("interop: FAIL: %s" % e, file=sys.stderr)
    except (signed_note.NoteError, rfc9162.ProofError, keyfile.KeyFileError, OSError) as e:
        print("interop: FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    except Exception as e:  # grpc.RpcError and anything unexpected
        code = getattr(e, "code", None)
        if callable(code):
            print("interop: FAIL: RPC %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        else:
            import traceback

            traceback.print_exc()
            print("interop: FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
