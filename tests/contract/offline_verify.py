#!/usr/bin/env python3
"""An independent verifier of voucher-ledger's offline formats, written from
docs/token-format.md ("Offline", "Status lists") alone: an offline
presentation (VO1:) for a provider at a time, a provider device's sealed
offline record, and a page of status lists (signature, digest, chain).

Usage: offline_verify.py CASE.json

CASE.json: {"issuer_keys": <GET /.well-known/voucher-keys.json>,
            "presentation": "VO1:…", "provider_id": "<uuid>", "accepted_at": <unix s>,
            "record": "<base64 sealed record>" (optional),
            "device": {"algorithm": …, "public_key": "<base64>"} (with "record"),
            "lists": <GET /api/v1/offline/status-lists page> (optional)}

Prints one JSON object: {"presentation": "valid" or the refusal code,
"record": "valid" or a code, "lists": "valid" or a problem, "vouchers": the
vouchers as the lists leave them} and exits 0. Needs `cryptography`.
"""

import base64
import datetime
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
SMALL_ORDER = {bytes.fromhex(h) for h in """
0100000000000000000000000000000000000000000000000000000000000000
ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
0000000000000000000000000000000000000000000000000000000000000080
0000000000000000000000000000000000000000000000000000000000000000
c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a
c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa
26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05
26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85""".split()}
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


class Refused(Exception):
    pass


def b45decode(text):
    try:
        values = [B45.index(c) for c in text]
    except ValueError:
        raise Refused("token_malformed")
    out = bytearray()
    for i in range(0, len(values), 3):
        g = values[i:i + 3]
        if len(g) == 3:
            n = g[0] + g[1] * 45 + g[2] * 2025
            if n > 65535:
                raise Refused("token_malformed")
            out += n.to_bytes(2, "big")
        elif len(g) == 2:
            n = g[0] + g[1] * 45
            if n > 255:
                raise Refused("token_malformed")
            out.append(n)
        else:
            raise Refused("token_malformed")
    return bytes(out)


def unseal(token, limit, code="token_malformed"):
    if len(token) < 66:
        raise Refused(code)
    n = int.from_bytes(token[:2], "big")
    if n > limit or len(token) != 2 + n + 64:
        raise Refused(code)
    return token[2:2 + n], token[2 + n:]


# -- protobuf: varints and length-delimited fields, and the canonical form --
def varint(n):
    out = bytearray()
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_fields(data, code):
    fields, i = [], 0

    def read_varint():
        nonlocal i
        n, shift = 0, 0
        while True:
            if i >= len(data) or shift > 63:
                raise Refused(code)
            b = data[i]
            i += 1
            n |= (b & 127) << shift
            shift += 7
            if b < 128:
                return n
    while i < len(data):
        key = read_varint()
        tag, wire = key >> 3, key & 7
        if wire == 0:
            fields.append((tag, read_varint()))
        elif wire == 2:
            n = read_varint()
            if i + n > len(data):
                raise Refused(code)
            fields.append((tag, data[i:i + n]))
            i += n
        else:
            raise Refused(code)
    return fields


def decode(data, schema, code="token_malformed"):
    """schema: tag -> (name, kind) with kind in int, bytes, string, strings.
    Refuses unknown tags and any encoding but the canonical one."""
    message = {name: ([] if kind == "strings" else (0 if kind == "int" else b"" if kind == "bytes" else ""))
               for name, kind in schema.values()}
    for tag, value in read_fields(data, code):
        if tag not in schema:
            raise Refused(code)
        name, kind = schema[tag]
        if kind == "int":
            if not isinstance(value, int):
                raise Refused(code)
            message[name] = value
        else:
            if isinstance(value, int):
                raise Refused(code)
            if kind == "bytes":
                message[name] = bytes(value)
            elif kind == "string":
                message[name] = bytes(value).decode("utf-8")
            else:
                message[name].append(bytes(value).decode("utf-8"))
    if encode(message, schema) != data:
        raise Refused(code)
    return message


def encode(message, schema):
    out = bytearray()
    for tag in sorted(schema):
        name, kind = schema[tag]
        value = message[name]
        if kind == "int":
            if value:
                out += varint(tag << 3) + varint(value if value >= 0 else value + 2**64)
        elif kind == "strings":
            for item in value:
                b = item.encode("utf-8")
                out += varint(tag << 3 | 2) + varint(len(b)) + b
        else:
            b = value.encode("utf-8") if kind == "string" else value
            if b:
                out += varint(tag << 3 | 2) + varint(len(b)) + b
    return bytes(out)


VOUCHER = {1: ("voucher_id", "bytes"), 2: ("programme_code", "string"), 3: ("enterprise_uscc", "string"),
           4: ("face_value_fen", "int"), 5: ("valid_from", "string"), 6: ("valid_until", "string"),
           7: ("service_categories", "strings"), 8: ("issued_sequence", "int"), 9: ("key_id", "string")}
BINDING = {1: ("voucher_id", "bytes"), 2: ("binding_number", "int"), 3: ("algorithm", "string"),
           4: ("public_key", "bytes"), 5: ("bound_at", "int"), 6: ("key_id", "string")}
PRESENTATION = {1: ("voucher_token", "bytes"), 2: ("binding", "bytes"), 3: ("nonce", "bytes"),
                4: ("presented_at", "int"), 5: ("provider_id", "bytes")}
RECORD = {1: ("presentation", "bytes"), 2: ("device_id", "bytes"), 3: ("record_number", "int"),
          4: ("accepted_at", "int"), 5: ("list_number", "int"), 6: ("service_category", "string"),
          7: ("contract_amount_fen", "int"), 8: ("subsidy_fen", "int"), 9: ("contract_number", "string"),
          10: ("description", "string")}


# -- signatures --
def ed25519_ok(key, signature, message):
    if len(key) != 32 or len(signature) != 64:
        return False
    if key in SMALL_ORDER or signature[:32] in SMALL_ORDER:
        return False
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def device_ok(algorithm, key, signature, message):
    if algorithm == "Ed25519":
        return ed25519_ok(key, signature, message)
    if algorithm == "ECDSA-P256":
        if len(key) != 65 or len(signature) != 64:
            return False
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError):
            return False
    return False


def issuer(keys, key_id):
    for key in keys["keys"]:
        if key["key_id"] == key_id:
            raw = bytes.fromhex(key["public_key"])
            if hashlib.sha256(raw).hexdigest()[:16] != key_id:
                return None, None
            return raw, key["status"]
    return None, None


def check_issued(keys, payload, signature, key_id, unknown, bad):
    raw, status = issuer(keys, key_id)
    if raw is None:
        raise Refused(unknown)
    if status == "revoked":
        raise Refused("token_key_revoked")
    if not ed25519_ok(raw, signature, payload):
        raise Refused(bad)


def uuid_text(b):
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def verify_presentation(keys, sealed, provider_id, accepted_at):
    payload, signature = unseal(sealed, 1536)
    p = decode(payload, PRESENTATION)
    if len(p["nonce"]) != 16 or len(p["provider_id"]) != 16:
        raise Refused("token_malformed")
    # The voucher, as a voucher (steps 2-5 of "Verifying") on the acceptance's day.
    v_payload, v_signature = unseal(p["voucher_token"], 1024)
    voucher = decode(v_payload, VOUCHER)
    if voucher["face_value_fen"] <= 0 or voucher["valid_until"] < voucher["valid_from"]:
        raise Refused("token_malformed")
    check_issued(keys, v_payload, v_signature, voucher["key_id"], "token_unknown_key", "token_signature_invalid")
    day = (datetime.datetime.fromtimestamp(accepted_at, datetime.timezone.utc)
           + datetime.timedelta(hours=8)).strftime("%Y-%m-%d")
    if day < voucher["valid_from"]:
        raise Refused("voucher_not_yet_valid")
    if day > voucher["valid_until"]:
        raise Refused("voucher_expired")
    # The binding: the issuer's, for this voucher.
    b_payload, b_signature = unseal(p["binding"], 256, "holder_binding_invalid")
    binding = decode(b_payload, BINDING, "holder_binding_invalid")
    if binding["binding_number"] < 1 or binding["algorithm"] not in ("Ed25519", "ECDSA-P256"):
        raise Refused("holder_binding_invalid")
    raw, status = issuer(keys, binding["key_id"])
    if raw is None:
        raise Refused("holder_binding_invalid")
    if status == "revoked":
        raise Refused("token_key_revoked")
    if not ed25519_ok(raw, b_signature, b_payload):
        raise Refused("holder_binding_invalid")
    if binding["voucher_id"] != voucher["voucher_id"]:
        raise Refused("holder_binding_invalid")
    if not device_ok(binding["algorithm"], binding["public_key"], signature, payload):
        raise Refused("holder_signature_invalid")
    if uuid_text(p["provider_id"]) != provider_id:
        raise Refused("presentation_wrong_provider")
    if not (accepted_at - 600 <= p["presented_at"] <= accepted_at + 30):
        raise Refused("presentation_expired")
    return uuid_text(voucher["voucher_id"])


def verify_record(case):
    sealed = base64.b64decode(case["record"])
    payload, signature = unseal(sealed, 3584, "offline_record_malformed")
    record = decode(payload, RECORD, "offline_record_malformed")
    if (record["record_number"] < 1 or record["list_number"] < 1 or record["contract_amount_fen"] <= 0
            or record["subsidy_fen"] <= 0 or record["accepted_at"] <= 0):
        raise Refused("offline_record_malformed")
    device = case["device"]
    if not device_ok(device["algorithm"], base64.b64decode(device["public_key"]), signature, payload):
        raise Refused("device_signature_invalid")
    verify_presentation(case["issuer_keys"], record["presentation"], case["provider_id"], record["accepted_at"])
    return "valid"


def verify_lists(page):
    key = base64.b64decode(page["ledger_public_key"])
    vouchers, previous = {}, None
    for listed in page["lists"]:
        body = listed["body"].encode("utf-8")
        if not ed25519_ok(key, base64.b64decode(listed["signature"]), body):
            return "signature", vouchers
        digest = hashlib.sha256(body).hexdigest()
        if digest != listed["digest"]:
            return "digest", vouchers
        parsed = json.loads(body)
        if parsed["format"] != "voucher-ledger/status-list/1":
            return "format", vouchers
        if json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") != body:
            return "not canonical", vouchers
        if parsed["full"]:
            vouchers = {}
        elif previous is not None and parsed["previous_digest"] != previous:
            return "chain", vouchers
        for v in parsed["vouchers"]:
            vouchers[v["id"]] = v
        previous = digest
    return "valid", vouchers


def main():
    case = json.load(open(sys.argv[1], encoding="utf-8"))
    result = {}
    try:
        text = case["presentation"]
        if not text.startswith("VO1:"):
            raise Refused("token_malformed")
        verify_presentation(case["issuer_keys"], b45decode(text[4:]), case["provider_id"], case["accepted_at"])
        result["presentation"] = "valid"
    except Refused as refused:
        result["presentation"] = str(refused)
    if "record" in case:
        try:
            result["record"] = verify_record(case)
        except Refused as refused:
            result["record"] = str(refused)
    if "lists" in case:
        result["lists"], result["vouchers"] = verify_lists(case["lists"])
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
