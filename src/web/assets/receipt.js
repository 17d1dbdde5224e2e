// Checks a transparency-log receipt in the browser, from docs/transparency.md
// ("Receipts") alone, with WebCrypto (SHA-256, Ed25519): the leaf record is
// the receipt's entry; the checkpoint (a C2SP signed note) is signed by the
// log's key and cosigned (cosignature/v1) by every witness key given; the
// RFC 9162 inclusion proof leads from the leaf to the checkpoint's root.
// Nothing is sent anywhere: the page checks what the user holds.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-receipt-check]").forEach(function (box) {
    var button = box.querySelector("[data-receipt-verify]");
    button.addEventListener("click", function () { check(box); });
  });
});

var zh = document.documentElement.lang !== "en";
function say(chinese, english) { return zh ? chinese : english; }

var utf8 = new TextEncoder();

function fail(chinese, english) { throw new Error(say(chinese, english)); }

function base64(text) {
  var binary;
  try { binary = atob(text); } catch (e) { fail("不是 base64", "not base64"); }
  var bytes = new Uint8Array(binary.length);
  for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function concat(parts) {
  var length = parts.reduce(function (sum, part) { return sum + part.length; }, 0);
  var out = new Uint8Array(length);
  var at = 0;
  parts.forEach(function (part) { out.set(part, at); at += part.length; });
  return out;
}

function hex(bytes) {
  return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// SHA-256(name ‖ "\n" ‖ type ‖ public key)[..4]: a signed-note key hash.
async function keyHash(name, type, publicKey) {
  var digest = await sha256(concat([utf8.encode(name + "\n"), new Uint8Array([type]), publicKey]));
  return digest.slice(0, 4);
}

// "<name>+<key hash hex>+<base64(type ‖ public key)>"
async function readKey(text, type) {
  // The base64 key may hold "+" itself: split at the first two only.
  var match = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trim());
  if (!match) fail("公钥格式不对", "not a verifier key");
  var parts = match.slice(1);
  var typed = base64(parts[2]);
  if (typed.length !== 33 || typed[0] !== type) fail("公钥类型不对", "the wrong type of key");
  var publicKey = typed.slice(1);
  var hash = await keyHash(parts[0], type, publicKey);
  if (hex(hash) !== parts[1]) fail("公钥的哈希不符", "the key's hash does not match");
  return { name: parts[0], publicKey: publicKey, hash: hash };
}

async function ed25519(publicKey, signature, message) {
  var key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

// A signed note: text up to and including the last "\n\n"'s first newline,
// then lines "— <name> <base64(key hash ‖ signature)>".
function readNote(note) {
  if (typeof note !== "string" || note.indexOf("\r") >= 0 || note.slice(-1) !== "\n") {
    fail("检查点不是签名注记", "the checkpoint is not a signed note");
  }
  var split = note.lastIndexOf("\n\n");
  if (split < 0) fail("检查点没有签名", "the checkpoint has no signatures");
  var text = note.slice(0, split + 1);
  var signatures = note.slice(split + 2, -1).split("\n").map(function (line) {
    var match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match) fail("签名行格式不对", "a signature line does not read");
    var bytes = base64(match[2]);
    if (bytes.length < 5) fail("签名太短", "a signature is too short");
    return { name: match[1], hash: bytes.slice(0, 4), rest: bytes.slice(4) };
  });
  var lines = text.split("\n");
  if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) fail("检查点内容不对", "the checkpoint's text does not read");
  var root = base64(lines[2]);
  if (root.length !== 32) fail("根哈希不是 32 字节", "the root is not 32 bytes");
  return { text: text, origin: lines[0], size: BigInt(lines[1]), root: root, signatures: signatures };
}

// "VLT1" ‖ u64 sequence ‖ u8 len ‖ kind ‖ 32-byte entry hash.
function readLeaf(leaf) {
  var prefix = utf8.encode("VLT1");
  if (leaf.length < 13 || !same(leaf.slice(0, 4), prefix)) fail("叶子记录格式不对", "not a leaf record");
  var sequence = new DataView(leaf.buffer, leaf.byteOffset).getBigUint64(4);
  var length = leaf[12];
  if (leaf.length !== 13 + length + 32) fail("叶子记录长度不对", "the leaf record has the wrong length");
  var kind = new TextDecoder().decode(leaf.slice(13, 13 + length));
  return { sequence: sequence, kind: kind, hash: leaf.slice(13 + length) };
}

// RFC 9162 §2.1.3.2: does `proof` lead from leaf `index` of a tree of
// `size` leaves to `root`?
async function included(index, size, leafHash, proof, root) {
  if (index >= size) return false;
  var fn = index, sn = size - 1n, r = leafHash;
  var node = new Uint8Array([1]);
  for (var i = 0; i < proof.length; i++) {
    var p = proof[i];
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(concat([node, p, r]));
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await sha256(concat([node, r, p]));
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && same(r, root);
}

function row(list, ok, text) {
  var item = document.createElement("li");
  item.className = ok ? "ok" : "error";
  item.textContent = (ok ? "✓ " : "✗ ") + text;
  list.appendChild(item);
  return ok;
}

async function check(box) {
  var result = box.querySelector("[data-receipt-result]");
  result.textContent = "";
  result.removeAttribute("data-verdict");
  var list = document.createElement("ul");
  list.className = "checks";
  result.appendChild(list);
  var valid = false;
  try {
    valid = await checks(box, list);
  } catch (error) {
    row(list, false, error.message);
  }
  var verdict = document.createElement("p");
  verdict.className = "notice " + (valid ? "ok" : "error");
  verdict.setAttribute("role", "status");
  verdict.textContent = valid
    ? say("收据有效：条目在日志中，检查点已签名并经所列见证方联署。", "The receipt holds: the entry is in the log, and the checkpoint is signed and cosigned by the witnesses listed.")
    : say("收据无效或无法核验。", "The receipt does not hold, or cannot be checked.");
  result.appendChild(verdict);
  result.setAttribute("data-verdict", valid ? "valid" : "invalid");
}

async function checks(box, list) {
  if (!window.crypto || !crypto.subtle) {
    fail("此页面须经 HTTPS 打开，浏览器才能核验签名", "Open this page over HTTPS: the browser checks signatures only there");
  }
  var receipt;
  try { receipt = JSON.parse(box.querySelector("#receipt-json").value); } catch (e) { fail("收据不是 JSON", "the receipt is not JSON"); }
  if (!receipt || receipt.format !== "voucher-ledger-receipt/1") fail("不是本系统的收据（format）", "not a voucher-ledger receipt (format)");
  var log = await readKey(box.querySelector("#receipt-log-key").value, 0x01);
  var witnesses = [];
  var witnessText = box.querySelector("#receipt-witness-keys").value.split("\n");
  for (var w = 0; w < witnessText.length; w++) {
    if (witnessText[w].trim() !== "") witnesses.push(await readKey(witnessText[w], 0x04));
  }
  var ok = true;

  var leafBytes = base64(String(receipt.leaf));
  var leaf = readLeaf(leafBytes);
  ok = row(list, String(leaf.sequence) === String(receipt.sequence) && leaf.sequence > 0n,
    say("叶子记录是条目 ", "The leaf record is entry ") + leaf.sequence + " (" + leaf.kind + ")") && ok;

  var note = readNote(String(receipt.checkpoint));
  ok = row(list, note.origin === log.name,
    say("检查点属于日志 ", "The checkpoint is of log ") + note.origin) && ok;
  var signed = false;
  for (var s = 0; s < note.signatures.length; s++) {
    var line = note.signatures[s];
    if (line.name === log.name && same(line.hash, log.hash) && line.rest.length === 64) {
      signed = signed || await ed25519(log.publicKey, line.rest, utf8.encode(note.text));
    }
  }
  ok = row(list, signed, say("检查点由日志公钥签名", "The checkpoint is signed by the log's key")) && ok;

  for (var k = 0; k < witnesses.length; k++) {
    var witness = witnesses[k];
    var cosignedAt = null;
    for (var c = 0; c < note.signatures.length && cosignedAt === null; c++) {
      var cosig = note.signatures[c];
      if (cosig.name !== witness.name || !same(cosig.hash, witness.hash) || cosig.rest.length !== 72) continue;
      var time = new DataView(cosig.rest.buffer, cosig.rest.byteOffset).getBigUint64(0);
      var message = utf8.encode("cosignature/v1\ntime " + time + "\n" + note.text);
      if (await ed25519(witness.publicKey, cosig.rest.slice(8), message)) cosignedAt = time;
    }
    var when = cosignedAt === null ? "" : " · " + new Date(Number(cosignedAt) * 1000).toLocaleString(zh ? "zh-CN" : "en-GB");
    ok = row(list, cosignedAt !== null, say("见证方 ", "Witness ") + witness.name + say(" 已联署", " cosigned") + when) && ok;
  }

  ok = row(list, String(note.size) === String(receipt.tree_size),
    say("检查点的树大小为 ", "The checkpoint's tree size is ") + note.size) && ok;
  if (!Array.isArray(receipt.proof)) fail("包含证明不是数组", "the proof is not a list");
  var proof = receipt.proof.map(function (hash) {
    var bytes = base64(String(hash));
    if (bytes.length !== 32) fail("证明中的哈希不是 32 字节", "a proof hash is not 32 bytes");
    return bytes;
  });
  var leafHash = await sha256(concat([new Uint8Array([0]), leafBytes]));
  var inside = leaf.sequence > 0n && await included(leaf.sequence - 1n, note.size, leafHash, proof, note.root);
  ok = row(list, inside, say("包含证明从叶子通向检查点的根哈希", "The inclusion proof leads from the leaf to the checkpoint's root")) && ok;
  return ok;
}
