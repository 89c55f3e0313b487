"""RFC 9162 (Certificate Transparency v2) §2.1 Merkle tree hashing and proof
verification, written from the RFC text alone for the interoperability test.

It deliberately shares no code with ledger/merkle: its purpose is to show that
a second, independent implementation agrees with ours byte for byte.
"""

import hashlib

HASH_LEN = 32


class ProofError(Exception):
    """A proof did not verify; the message says which check failed."""


def _sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    # RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)).
    return _sha256(b"\x00" + entry)


def node_hash(left, right):
    # RFC 9162 §2.1.1: HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    return _sha256(b"\x01" + left + right)


def empty_root():
    # RFC 9162 §2.1.1: the hash of an empty list is the hash of an empty string.
    return _sha256(b"")


def _split(n):
    """k = the largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_leaf_hashes(hashes):
    """MTH(D[n]) over already-computed leaf hashes (§2.1.1), iteratively:
    the tree is the sequence of perfect subtrees given by the binary digits of
    n, folded right to left."""
    n = len(hashes)
    if n == 0:
        return empty_root()
    # Stack of (height, hash) of perfect subtrees, merged as leaves arrive.
    stack = []
    for i, h in enumerate(hashes):
        stack.append((0, h))
        m = i + 1
        while m & 1 == 0:
            (_, r), (lv, l) = stack.pop(), stack.pop()
            stack.append((lv + 1, node_hash(l, r)))
            m >>= 1
    acc = stack.pop()[1]
    while stack:
        acc = node_hash(stack.pop()[1], acc)
    return acc


def mth(entries):
    """MTH(D[n]) over raw entries, exactly as the recursive §2.1.1 definition
    (used by the self-test to cross-check the iterative form)."""
    n = len(entries)
    if n == 0:
        return empty_root()
    if n == 1:
        return leaf_hash(entries[0])
    k = _split(n)
    return node_hash(mth(entries[:k]), mth(entries[k:]))


def path(m, entries):
    """PATH(m, D[n]) of §2.1.3.1: the inclusion proof, deepest node first."""
    n = len(entries)
    if n == 1 and m == 0:
        return []
    k = _split(n)
    if m < k:
        return path(m, entries[:k]) + [mth(entries[k:])]
    return path(m - k, entries[k:]) + [mth(entries[:k])]


def _subproof(m, entries, b):
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = _split(n)
    if m <= k:
        return _subproof(m, entries[:k], b) + [mth(entries[k:])]
    return _subproof(m - k, entries[k:], False) + [mth(entries[:k])]


def proof(m, entries):
    """PROOF(m, D[n]) of §2.1.4.1: the consistency proof (0 < m <= n)."""
    return _subproof(m, entries, True)


def _check_hashes(name, hashes):
    for i, h in enumerate(hashes):
        if not isinstance(h, (bytes, bytearray)) or len(h) != HASH_LEN:
            raise ProofError("%s[%d]: %d bytes, want %d" % (name, i, len(h), HASH_LEN))


def verify_inclusion(leaf, leaf_index, tree_size, inclusion_path, root):
    """RFC 9162 §2.1.3.2, step by step. Raises ProofError on failure."""
    _check_hashes("inclusion_path", inclusion_path)
    if len(leaf) != HASH_LEN or len(root) != HASH_LEN:
        raise ProofError("leaf or root hash is not %d bytes" % HASH_LEN)
    # 1. leaf_index >= tree_size fails.
    if leaf_index >= tree_size:
        raise ProofError("leaf_index %d >= tree_size %d" % (leaf_index, tree_size))
    # 2.-3.
    fn, sn, r = leaf_index, tree_size - 1, bytes(leaf)
    # 4.
    for p in inclusion_path:
        if sn == 0:  # a.
            raise ProofError("inclusion path longer than the tree is deep")
        if fn & 1 or fn == sn:  # b.
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError("inclusion path too short for tree_size %d" % tree_size)
    if r != root:
        raise ProofError("inclusion path does not lead to the root")


def verify_consistency(first, second, first_hash, second_hash, consistency_path):
    """RFC 9162 §2.1.4.2, step by step. Raises ProofError on failure.

    The RFC's algorithm starts from a non-empty path; two cases are outside
    it and handled as transparency-dev/merkle does (SPEC §3): first == second
    is proven by an empty path and equal roots, and first == 0 is refused (a
    proof from the empty tree proves nothing)."""
    _check_hashes("consistency_path", consistency_path)
    if len(first_hash) != HASH_LEN or len(second_hash) != HASH_LEN:
        raise ProofError("root hash is not %d bytes" % HASH_LEN)
    if first == 0:
        raise ProofError("consistency from size 0 is refused")
    if first > second:
        raise ProofError("first %d > second %d" % (first, second))
    if first == second:
        if consistency_path:
            raise ProofError("non-empty proof between equal sizes")
        if first_hash != second_hash:
            raise ProofError("equal sizes with different roots")
        return
    # 1.
    if not consistency_path:
        raise ProofError("empty consistency path")
    path_ = list(consistency_path)
    # 2. first an exact power of two: prepend first_hash.
    if first & (first - 1) == 0:
        path_.insert(0, bytes(first_hash))
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path_[0]
    # 6.
    for c in path_[1:]:
        if sn == 0:  # a.
            raise ProofError("consistency path too long")
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError("consistency path too short")
    if fr != first_hash:
        raise ProofError("consistency path does not lead to the first root")
    if sr != second_hash:
        raise ProofError("consistency path does not lead to the second root")
