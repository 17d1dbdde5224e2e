#!/usr/bin/env python3
"""An independent verifier of voucher-ledger's transparency log, written from
docs/transparency.md alone (no code of ours, no Go): checks the checkpoint's
signed note under /log/vkey's key, recomputes the signed root from the hash
tiles and the leaf records of the entry bundles, and checks the JSON inclusion
and consistency proofs with RFC 9162's algorithms.

Usage: tlog_verify.py DIR, DIR as the Go check lays it out (vkey, checkpoint,
tiles/<L>/<N>[.p/<W>], inclusion.json, consistency.json) plus
entries/<N>[.p/<W>] bundles. Prints "ok …" and exits 0, or names the failure
and exits 1. Needs the `cryptography` package (Ed25519).
"""

import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(why):
    print(f"tlog_verify: {why}", file=sys.stderr)
    sys.exit(1)


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(record):
    return sha256(b"\x00" + record)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(leaves):
    """The RFC 9162 root of a list of leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def tile_path(index, width):
    """N in groups of three digits, all but the last prefixed x; .p/W for partial."""
    groups = []
    n = index
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    parts = [f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"]
    path = "/".join(parts)
    return path if width == 256 else f"{path}.p/{width}"


def main():
    if len(sys.argv) != 2:
        fail("usage: tlog_verify.py DIR")
    root_dir = sys.argv[1]

    def read(name):
        with open(os.path.join(root_dir, name), "rb") as f:
            return f.read()

    # The verifier key: <name>+<8 hex key hash>+<base64(0x01 || key)>.
    name, key_hash_hex, key_b64 = read("vkey").decode().strip().split("+", 2)
    typed = base64.b64decode(key_b64)
    if len(typed) != 33 or typed[0] != 0x01:
        fail("the vkey is not an Ed25519 key")
    public = typed[1:]
    key_hash = sha256(name.encode() + b"\n" + b"\x01" + public)[:4]
    if key_hash.hex() != key_hash_hex:
        fail("the vkey's hash does not match its name and key")
    key = Ed25519PublicKey.from_public_bytes(public)

    # The checkpoint: text, a blank line, signature lines "— name base64".
    note = read("checkpoint").decode()
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    signed = False
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            fail(f"a signature line: {line!r}")
        signer, sig_b64 = line[2:].split(" ", 1)
        raw = base64.b64decode(sig_b64)
        if signer == name and raw[:4] == key_hash:
            try:
                key.verify(raw[4:], text.encode())
                signed = True
            except InvalidSignature:
                fail("the log's signature does not verify")
    if not signed:
        fail("the checkpoint carries no signature by the log's key")
    origin, size_text, root_b64 = text.split("\n")[:3]
    if origin != name:
        fail("the checkpoint's origin is not the key's name")
    size = int(size_text)
    root = base64.b64decode(root_b64)

    # Level-0 tiles hold the leaf hashes; entry bundles the leaf records.
    leaves, records = [], []
    for index in range((size + 255) // 256):
        width = min(256, size - 256 * index)
        tile = read(os.path.join("tiles", "0", tile_path(index, width)))
        if len(tile) != 32 * width:
            fail(f"tile 0/{index} has {len(tile)} bytes")
        leaves += [tile[i:i + 32] for i in range(0, len(tile), 32)]
        bundle = read(os.path.join("entries", tile_path(index, width)))
        at = 0
        while at < len(bundle):
            (length,) = struct.unpack(">H", bundle[at:at + 2])
            records.append(bundle[at + 2:at + 2 + length])
            at += 2 + length
    if len(records) != size:
        fail(f"{len(records)} entries in the bundles, {size} in the tree")
    for i, record in enumerate(records):
        if record[:4] != b"VLT1":
            fail(f"entry {i + 1}: not a VLT1 leaf record")
        (sequence,) = struct.unpack(">Q", record[4:12])
        kind_length = record[12]
        if sequence != i + 1 or len(record) != 13 + kind_length + 32:
            fail(f"entry {i + 1}: a malformed leaf record")
        if leaf_hash(record) != leaves[i]:
            fail(f"entry {i + 1}: its leaf hash is not the tile's")
    if mth(leaves) != root:
        fail("the tiles do not give the signed root")

    proofs = json.loads(read("inclusion.json"))
    for p in proofs:
        leaf = base64.b64decode(p["leaf"])
        proof = [base64.b64decode(h) for h in p["proof"]]
        expected_root = mth(leaves[:p["tree_size"]])
        if base64.b64decode(p["root"]) != expected_root:
            fail(f"inclusion of {p['sequence']}: the root is not the tiles' root")
        if not verify_inclusion(p["leaf_index"], p["tree_size"], leaf_hash(leaf), proof, expected_root):
            fail(f"inclusion of {p['sequence']} in {p['tree_size']} does not verify")
    trees = json.loads(read("consistency.json"))
    for c in trees:
        first, second = c["from"], c["to"]
        proof = [base64.b64decode(h) for h in c["proof"]]
        if not verify_consistency(first, second, mth(leaves[:first]), mth(leaves[:second]), proof):
            fail(f"consistency {first} -> {second} does not verify")
    print(f"ok: checkpoint of {size} entries, tiles and bundles, "
          f"{len(proofs)} inclusion and {len(trees)} consistency proofs")


if __name__ == "__main__":
    main()
