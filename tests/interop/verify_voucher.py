#!/usr/bin/env python3
"""An independent voucher verifier, written from docs/token-format.md alone.

Usage: verify_voucher.py QR_TEXT PUBLIC_KEY_HEX TODAY(YYYY-MM-DD)
Prints the voucher's fields as JSON and exits 0 if the voucher verifies;
prints the refusal code and exits 1 otherwise. Needs `cryptography`.
"""
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

# The points of small order (docs/token-format.md, "Verifying"): OpenSSL,
# behind `cryptography`, accepts R = identity, S = 0 under such a key, so a
# strict verifier refuses them as the key and as R itself.
SMALL_ORDER = {bytes.fromhex(h) for h in (
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
)}


def b45decode(text):
    values = [ALPHABET.index(c) for c in text]
    if len(values) % 3 == 1:
        raise ValueError("length")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i:i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 2025
            if n > 0xFFFF:
                raise ValueError("overflow")
            out += n.to_bytes(2, "big")
        else:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise ValueError("overflow")
            out.append(n)
    return bytes(out)


def varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def fields(payload):
    """Decodes the VoucherPayload fields this verifier needs."""
    out = {"service_categories": []}
    names = {1: "voucher_id", 2: "programme_code", 3: "enterprise_uscc", 5: "valid_from",
             6: "valid_until", 7: "service_categories", 9: "key_id"}
    i = 0
    while i < len(payload):
        key, i = varint(payload, i)
        tag, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(payload, i)
            out[{4: "face_value_fen", 8: "issued_sequence"}[tag]] = value
        elif wire == 2:
            length, i = varint(payload, i)
            raw = payload[i:i + length]
            i += length
            name = names[tag]
            if name == "voucher_id":
                out[name] = raw.hex()
            elif name == "service_categories":
                out[name].append(raw.decode())
            else:
                out[name] = raw.decode()
        else:
            raise ValueError("wire type")
    return out


def main():
    text, public_hex, today = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        if not text.startswith("VL1:"):
            raise ValueError("prefix")
        token = b45decode(text[4:])
        (length,) = struct.unpack(">H", token[:2])
        payload, signature = token[2:2 + length], token[2 + length:]
        if len(payload) != length or len(signature) != 64:
            raise ValueError("layout")
        voucher = fields(payload)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError, struct.error):
        print("token_malformed")
        return 1
    public_key = bytes.fromhex(public_hex)
    if hashlib.sha256(public_key).hexdigest()[:16] != voucher.get("key_id"):
        print("token_unknown_key")
        return 1
    try:
        if public_key in SMALL_ORDER or signature[:32] in SMALL_ORDER:
            raise InvalidSignature()
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except InvalidSignature:
        print("token_signature_invalid")
        return 1
    if today < voucher["valid_from"]:
        print("voucher_not_yet_valid")
        return 1
    if today > voucher["valid_until"]:
        print("voucher_expired")
        return 1
    print(json.dumps(voucher, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
