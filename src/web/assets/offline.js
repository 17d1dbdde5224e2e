// Offline redemption in the browser (docs/redemption-lifecycle.md "Offline",
// formats in docs/token-format.md "Offline" and "Status lists").
//
// [data-offline-holder] — the enterprise's voucher page: this browser's
//   device key (WebCrypto Ed25519, else ECDSA P-256; never extractable,
//   kept in IndexedDB) is bound to the voucher, and without any network the
//   page makes a VO1: presentation for the provider the holder picks,
//   signed by that key, and draws its QR code.
// [data-offline-counter] — the provider's offline page (an installable app:
//   manifest and service worker): its registered device key, the issuer
//   keys and the signed status lists are kept in IndexedDB; a presentation
//   is checked here, accepted into a queue signed by the device key, shown
//   to the clerk, and synced exactly once when the server answers again.
"use strict";

(function () {
  var DB_NAME = "voucher-ledger-offline";
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  // ---- bytes ----
  function b45encode(bytes) {
    var out = "";
    for (var i = 0; i + 1 < bytes.length; i += 2) {
      var n = bytes[i] * 256 + bytes[i + 1];
      out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
    }
    if (bytes.length % 2) {
      var last = bytes[bytes.length - 1];
      out += B45[last % 45] + B45[Math.floor(last / 45)];
    }
    return out;
  }

  function b45decode(text) {
    var values = [];
    for (var i = 0; i < text.length; i++) {
      var v = B45.indexOf(text[i]);
      if (v < 0) throw new Error("token_malformed");
      values.push(v);
    }
    var out = [];
    for (var j = 0; j < values.length; j += 3) {
      var group = values.slice(j, j + 3);
      if (group.length === 3) {
        var n = group[0] + group[1] * 45 + group[2] * 2025;
        if (n > 65535) throw new Error("token_malformed");
        out.push(n >> 8, n & 255);
      } else if (group.length === 2) {
        var m = group[0] + group[1] * 45;
        if (m > 255) throw new Error("token_malformed");
        out.push(m);
      } else {
        throw new Error("token_malformed");
      }
    }
    return new Uint8Array(out);
  }

  function b64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function unb64(text) {
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function concat(parts) {
    var length = parts.reduce(function (sum, p) { return sum + p.length; }, 0);
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function uuidBytes(text) {
    var clean = String(text).replace(/-/g, "");
    if (!/^[0-9a-f]{32}$/i.test(clean)) throw new Error("bad id");
    var out = new Uint8Array(16);
    for (var i = 0; i < 16; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
    return out;
  }

  function uuidText(bytes) {
    var h = hex(bytes);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function utf8(text) { return new TextEncoder().encode(text); }
  function text8(bytes) { return new TextDecoder().decode(bytes); }

  // ---- protobuf: varints (below 2^53), length-delimited fields ----
  function varint(n) {
    var out = [];
    while (n >= 128) {
      out.push((n % 128) + 128);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return new Uint8Array(out);
  }

  function Message() { this.parts = []; }
  Message.prototype.int = function (tag, n) {
    if (n) this.parts.push(varint(tag * 8), varint(n));
    return this;
  };
  Message.prototype.bytes = function (tag, b) {
    if (b && b.length) this.parts.push(varint(tag * 8 + 2), varint(b.length), b);
    return this;
  };
  Message.prototype.string = function (tag, s) { return this.bytes(tag, utf8(s || "")); };
  Message.prototype.done = function () { return concat(this.parts); };

  // Field number → its values (numbers, or byte arrays for wire type 2).
  function fields(bytes) {
    var found = {};
    var at = 0;
    function readVarint() {
      var n = 0, scale = 1;
      for (;;) {
        if (at >= bytes.length) throw new Error("token_malformed");
        var b = bytes[at++];
        n += (b & 127) * scale;
        if (b < 128) return n;
        scale *= 128;
        if (scale > Math.pow(2, 56)) throw new Error("token_malformed");
      }
    }
    while (at < bytes.length) {
      var key = readVarint();
      var tag = Math.floor(key / 8), wire = key % 8, value;
      if (wire === 0) {
        value = readVarint();
      } else if (wire === 2) {
        var length = readVarint();
        if (at + length > bytes.length) throw new Error("token_malformed");
        value = bytes.slice(at, at + length);
        at += length;
      } else {
        throw new Error("token_malformed");
      }
      (found[tag] = found[tag] || []).push(value);
    }
    return found;
  }
  function one(f, tag, fallback) { return f[tag] ? f[tag][f[tag].length - 1] : fallback; }

  // ---- the envelope: u16 length ‖ payload ‖ 64-byte signature ----
  function seal(payload, signature) {
    return concat([new Uint8Array([payload.length >> 8, payload.length & 255]), payload, signature]);
  }
  function unseal(token, max) {
    if (token.length < 66) throw new Error("token_malformed");
    var length = token[0] * 256 + token[1];
    if (length > max || token.length !== 2 + length + 64) throw new Error("token_malformed");
    return { payload: token.slice(2, 2 + length), signature: token.slice(2 + length) };
  }

  // ---- WebCrypto ----
  var ED25519 = { name: "Ed25519" };
  var P256 = { name: "ECDSA", namedCurve: "P-256" };
  function params(algorithm) { return algorithm === "Ed25519" ? ED25519 : P256; }
  function signParams(algorithm) { return algorithm === "Ed25519" ? ED25519 : { name: "ECDSA", hash: "SHA-256" }; }

  // A device key pair whose private half can never leave this browser.
  function newKey() {
    function make(algorithm) {
      return crypto.subtle.generateKey(params(algorithm), false, ["sign", "verify"]).then(function (pair) {
        return crypto.subtle.exportKey("raw", pair.publicKey).then(function (raw) {
          return { algorithm: algorithm, privateKey: pair.privateKey, publicRaw: new Uint8Array(raw) };
        });
      });
    }
    return make("Ed25519").catch(function () { return make("ECDSA-P256"); });
  }

  function sign(key, bytes) {
    return crypto.subtle.sign(signParams(key.algorithm), key.privateKey, bytes).then(function (s) {
      return new Uint8Array(s);
    });
  }

  function verify(algorithm, raw, signature, data) {
    return crypto.subtle.importKey("raw", raw, params(algorithm), false, ["verify"]).then(function (key) {
      return crypto.subtle.verify(signParams(algorithm), key, signature, data);
    }).catch(function () { return false; });
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  // ---- IndexedDB ----
  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("holders", { keyPath: "voucher_id" });
        db.createObjectStore("state");
        db.createObjectStore("queue", { keyPath: "record_number" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function tx(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function get(store, key) { return tx(store, "readonly", function (s) { return s.get(key); }); }
  function put(store, value, key) { return tx(store, "readwrite", function (s) { return key === undefined ? s.put(value) : s.put(value, key); }); }
  function all(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }

  // ---- the API ----
  function api(root, method, path, body, key) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") {
      headers["X-CSRF-Token"] = root.dataset.csrf;
      headers["Idempotency-Key"] = key;
    }
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      cache: "no-store",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    if (kind) el.className = "notice " + kind;
  }

  // =====================================================================
  // The holder: bind this device, present offline.
  // =====================================================================
  function holder(root) {
    var voucherId = root.dataset.voucherId;
    var status = root.querySelector("[data-holder-status]");
    var bindButton = root.querySelector("[data-holder-bind]");
    var presentButton = root.querySelector("[data-holder-present]");
    var provider = root.querySelector("[data-holder-provider]");
    var qrBox = root.querySelector("[data-holder-qr]");
    var textBox = root.querySelector("[data-holder-text]");
    var current = JSON.parse(root.dataset.binding || "null");

    function show(saved) {
      var mine = saved && current && saved.binding_number === current.binding_number &&
        b64(saved.key.publicRaw) === current.public_key;
      if (mine) {
        say(status, root.dataset.bound.replace("{n}", saved.binding_number), "ok");
        presentButton.disabled = false;
        bindButton.textContent = root.dataset.rebindLabel;
      } else if (current) {
        say(status, root.dataset.elsewhere, "warning");
        presentButton.disabled = true;
      } else {
        say(status, root.dataset.unbound, "warning");
        presentButton.disabled = true;
      }
    }

    function bind() {
      bindButton.disabled = true;
      say(status, root.dataset.bindingProgress, null);
      return newKey().then(function (key) {
        var body = { algorithm: key.algorithm, public_key: b64(key.publicRaw) };
        var idempotency = "bind:" + voucherId + ":" + hex(crypto.getRandomValues(new Uint8Array(8)));
        return api(root, "POST", root.dataset.bindUrl, body, idempotency).then(function (reply) {
          if (reply.status !== 200) throw new Error((reply.body.error && reply.body.error.message_zh) || String(reply.status));
          var list = reply.body.bindings;
          current = list[list.length - 1];
          var saved = {
            voucher_id: voucherId,
            key: key,
            binding_number: current.binding_number,
            certificate: unb64(current.certificate),
            token: root.dataset.token
          };
          return put("holders", saved).then(function () { show(saved); });
        });
      }).catch(function (error) {
        say(status, root.dataset.failed + " " + error.message, "error");
      }).finally(function () { bindButton.disabled = false; });
    }

    function present() {
      return get("holders", voucherId).then(function (saved) {
        if (!saved || !provider.value) return;
        var token = b45decode(saved.token.replace(/^VL1:/, ""));
        var payload = new Message()
          .bytes(1, token)
          .bytes(2, saved.certificate)
          .bytes(3, crypto.getRandomValues(new Uint8Array(16)))
          .int(4, Math.floor(Date.now() / 1000))
          .bytes(5, uuidBytes(provider.value))
          .done();
        return sign(saved.key, payload).then(function (signature) {
          var text = "VO1:" + b45encode(seal(payload, signature));
          textBox.value = text;
          textBox.hidden = false;
          if (typeof qrcode === "function") {
            var qr = qrcode(0, "M");
            qr.addData(text, "Alphanumeric");
            qr.make();
            qrBox.innerHTML = qr.createSvgTag({ cellSize: 3, margin: 4, scalable: true });
          }
          qrBox.hidden = false;
          say(status, root.dataset.presented, "ok");
        });
      }).catch(function (error) { say(status, root.dataset.failed + " " + error.message, "error"); });
    }

    bindButton.addEventListener("click", bind);
    presentButton.addEventListener("click", present);
    get("holders", voucherId).then(function (saved) {
      show(saved);
      // At claim: a voucher nobody has bound yet is bound to this device.
      if (!current && !saved && root.dataset.autobind) bind();
    }).catch(function () { say(status, root.dataset.failed, "error"); });
  }

  // =====================================================================
  // The provider's counter: device, lists, checks, queue, sync.
  // =====================================================================
  function counter(root) {
    var t = function (name) {
      var key = name.replace(/[-_]([a-z0-9])/g, function (m, c) { return c.toUpperCase(); });
      return root.dataset[key] || name;
    };
    var el = function (name) { return root.querySelector("[data-" + name + "]"); };
    var networkLine = el("network-line"), deviceLine = el("device-line"), listLine = el("list-line");
    var resultBox = el("check-result"), queueBody = el("queue");
    var acceptButton = el("accept"), checkButton = el("check");
    var checked = null;

    function state(key) { return get("state", key); }
    function setState(key, value) { return put("state", value, key); }

    function online(yes) {
      say(networkLine, yes ? t("online") : t("offline"), yes ? "ok" : "warning");
    }

    function showDevice(device) {
      el("register").hidden = !!device;
      say(deviceLine, device ? t("deviceReady").replace("{label}", device.label) : t("deviceMissing"), device ? "ok" : "warning");
    }

    function showList(list) {
      if (!list) { say(listLine, t("listMissing"), "warning"); return; }
      var age = Math.floor((Date.now() / 1000 - list.published_at) / 60);
      say(listLine, t("listState").replace("{n}", list.number).replace("{age}", age), "ok");
    }

    function showQueue() {
      return all("queue").then(function (rows) {
        queueBody.innerHTML = "";
        rows.sort(function (a, b) { return a.record_number - b.record_number; });
        var waiting = 0;
        rows.forEach(function (row) {
          if (row.status === "queued") waiting += 1;
          var tr = document.createElement("tr");
          [String(row.record_number), row.voucher_id.slice(0, 8) + "…", (row.subsidy_fen / 100).toFixed(2),
            new Date(row.accepted_at * 1000).toLocaleString("zh-CN", { hour12: false }),
            t("status_" + row.status) + (row.detail ? "：" + row.detail : "")
          ].forEach(function (text) {
            var td = document.createElement("td");
            td.textContent = text;
            tr.appendChild(td);
          });
          tr.dataset.status = row.status;
          queueBody.appendChild(tr);
        });
        say(el("waiting-line"), t("waiting").replace("{n}", waiting), waiting ? "warning" : "ok");
        return rows;
      });
    }

    // A list: the ledger key's signature, its digest, and the chain.
    function applyList(list, known, page) {
      var bytes = utf8(list.body);
      var pinned = known ? known.ledger_public_key : page.ledger_public_key;
      return verify("Ed25519", unb64(pinned), unb64(list.signature), bytes).then(function (good) {
        if (!good) throw new Error(t("listForged"));
        return sha256(bytes);
      }).then(function (digest) {
        if (hex(digest) !== list.digest) throw new Error(t("listForged"));
        var body = JSON.parse(list.body);
        if (body.format !== "voucher-ledger/status-list/1") throw new Error(t("listForged"));
        var base;
        if (body.full) {
          base = { vouchers: {} };
        } else {
          if (!known || known.digest !== body.previous_digest) return null;
          base = known;
        }
        var vouchers = Object.assign({}, base.vouchers);
        body.vouchers.forEach(function (v) { vouchers[v.id] = v; });
        return {
          number: body.number,
          published_at: body.published_at,
          digest: list.digest,
          ledger_public_key: pinned,
          programmes: body.programmes,
          revoked_keys: body.revoked_keys,
          barred_providers: body.barred_providers,
          vouchers: vouchers
        };
      });
    }

    function fetchLists() {
      return state("list").then(function (known) {
        var after = known ? known.number : 0;
        return api(root, "GET", "/api/v1/offline/status-lists?after=" + after).then(function (reply) {
          if (reply.status !== 200) throw new Error(String(reply.status));
          var page = reply.body;
          var chain = Promise.resolve(known);
          page.lists.forEach(function (list) {
            chain = chain.then(function (current) {
              return applyList(list, current, page).then(function (next) { return next || current; });
            });
          });
          return chain.then(function (latest) {
            if (!latest) return null;
            return setState("list", latest).then(function () {
              showList(latest);
              // More to fetch — but only while this page moved us on (a
              // chain that does not link stops here, it does not loop).
              if (page.newest > latest.number && latest.number > after) return fetchLists();
              return latest;
            });
          });
        });
      });
    }

    function fetchKeys() {
      return fetch("/.well-known/voucher-keys.json", { cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      }).then(function (keys) { return setState("issuer_keys", keys); });
    }

    function register() {
      var label = el("device-label").value.trim() || t("defaultLabel");
      return newKey().then(function (key) {
        var body = { algorithm: key.algorithm, public_key: b64(key.publicRaw), label: label };
        var idempotency = "device:" + hex(crypto.getRandomValues(new Uint8Array(12)));
        return api(root, "POST", "/api/v1/offline/devices", body, idempotency).then(function (reply) {
          if (reply.status !== 200) throw new Error((reply.body.error && reply.body.error.message_zh) || String(reply.status));
          var device = { device_id: reply.body.device_id, label: reply.body.label, key: key, next_record: 1 };
          return setState("device", device).then(function () { showDevice(device); });
        });
      }).then(refresh).catch(function (error) { say(deviceLine, t("failed") + " " + error.message, "error"); });
    }

    // Each queued record once, with its own idempotency key; a refusal is
    // kept and shown, a network failure leaves it queued.
    function sync() {
      return state("device").then(function (device) {
        if (!device) return;
        return all("queue").then(function (rows) {
          var chain = Promise.resolve(true);
          rows.filter(function (r) { return r.status === "queued"; })
            .sort(function (a, b) { return a.record_number - b.record_number; })
            .forEach(function (row) {
              chain = chain.then(function (go) {
                if (!go) return false;
                var key = "offline:" + device.device_id + ":" + row.record_number;
                return api(root, "POST", "/api/v1/offline/acceptances", { record: row.sealed }, key).then(function (reply) {
                  online(true);
                  if (reply.status === 401 || (reply.body.error && reply.body.error.code === "csrf_token_invalid")) {
                    say(el("sync-state"), t("loginAgain"), "warning");
                    return false;
                  }
                  if (reply.status === 200) {
                    row.status = reply.body.outcome;
                    row.detail = reply.body.outcome === "redeemed" ? "" : (reply.body.paid_fen / 100).toFixed(2) + " / " + (reply.body.conflict_reason || "");
                  } else {
                    row.status = "refused";
                    row.detail = (reply.body.error && (reply.body.error.code + " " + reply.body.error.message_zh)) || String(reply.status);
                  }
                  return put("queue", row).then(function () { return true; });
                });
              });
            });
          return chain;
        });
      }).then(showQueue);
    }

    function refresh() {
      return fetchKeys().then(function () {
        online(true);
        return state("device");
      }).then(function (device) {
        if (!device) return null;
        return sync().then(fetchLists);
      }).catch(function (error) {
        if (error && error.message === t("listForged")) say(listLine, t("listForged"), "error");
        else online(false);
      });
    }

    // Everything the device can check alone, in the order of the rules.
    function check() {
      checked = null;
      acceptButton.disabled = true;
      var text = el("code").value.trim();
      var amount = fenOf(el("amount").value);
      var category = el("category").value;
      return Promise.all([state("device"), state("list"), state("issuer_keys"), all("queue")]).then(function (loaded) {
        var device = loaded[0], list = loaded[1], keys = loaded[2], queue = loaded[3];
        var reasons = [];
        var texts = JSON.parse(root.dataset.refusals || "{}");
        function no(code) { reasons.push((texts[code] || code) + " (" + code + ")"); }
        if (!device) { no("offline_device_unregistered"); return finish(reasons); }
        if (!list || !keys) { no("offline_list_unknown"); return finish(reasons); }
        if (!/^VO1:/.test(text)) { no("token_malformed"); return finish(reasons); }
        var sealed, outer, p;
        try {
          sealed = b45decode(text.slice(4));
          outer = unseal(sealed, 1536);
          p = fields(outer.payload);
        } catch (e) { no("token_malformed"); return finish(reasons); }
        var now = Math.floor(Date.now() / 1000);
        var voucherEnv, voucher, bindingEnv, binding;
        try {
          voucherEnv = unseal(one(p, 1, new Uint8Array()), 1024);
          voucher = fields(voucherEnv.payload);
          bindingEnv = unseal(one(p, 2, new Uint8Array()), 256);
          binding = fields(bindingEnv.payload);
        } catch (e) { no("token_malformed"); return finish(reasons); }
        var voucherId = uuidText(one(voucher, 1, new Uint8Array(16)));
        var programmeCode = text8(one(voucher, 2, new Uint8Array()));
        var face = one(voucher, 4, 0);
        var from = text8(one(voucher, 5, new Uint8Array())), until = text8(one(voucher, 6, new Uint8Array()));
        var categories = (voucher[7] || []).map(text8);
        var keyId = text8(one(voucher, 9, new Uint8Array()));
        var bindingKeyId = text8(one(binding, 6, new Uint8Array()));
        var bindingNumber = one(binding, 2, 0);
        var holderAlgorithm = text8(one(binding, 3, new Uint8Array()));
        var holderKey = one(binding, 4, new Uint8Array());
        var presentedAt = one(p, 4, 0);
        var providerId = uuidText(one(p, 5, new Uint8Array(16)));
        var published = function (id) {
          return (keys.keys || []).filter(function (k) { return k.key_id === id; })[0];
        };
        var issuer = published(keyId), bindingIssuer = published(bindingKeyId);
        var programme = (list.programmes || []).filter(function (x) { return x.code === programmeCode; })[0];
        var checks = [];
        if (!issuer) no("token_unknown_key");
        else if (issuer.status === "revoked" || list.revoked_keys.indexOf(keyId) >= 0) no("token_key_revoked");
        else checks.push(verifyHex(issuer, voucherEnv).then(function (ok) { if (!ok) no("token_signature_invalid"); }));
        if (!bindingIssuer || uuidText(one(binding, 1, new Uint8Array(16))) !== voucherId) no("holder_binding_invalid");
        else checks.push(verifyHex(bindingIssuer, bindingEnv).then(function (ok) { if (!ok) no("holder_binding_invalid"); }));
        checks.push(verify(holderAlgorithm, holderKey, outer.signature, outer.payload).then(function (ok) {
          if (!ok) no("holder_signature_invalid");
        }));
        var today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
        if (today < from) no("voucher_not_yet_valid");
        if (today > until) no("voucher_expired");
        if (providerId !== root.dataset.providerId) no("presentation_wrong_provider");
        if (presentedAt > now + 30 || presentedAt < now - 600) no("presentation_expired");
        if (!programme || !programme.offline || !(programme.offline.voucher_cap_fen > 0)) no("offline_not_allowed");
        if (programme && now - list.published_at > programme.offline.list_max_age_minutes * 60) no("offline_list_stale");
        var listed = list.vouchers[voucherId];
        if (listed && (listed.status !== "active" || listed.remaining_fen <= 0)) no("voucher_on_status_list");
        if (listed && listed.binding > bindingNumber) no("holder_binding_superseded");
        if (list.barred_providers.some(function (b) { return b.id === root.dataset.providerId; })) no("provider_suspended");
        if (categories.indexOf(category) < 0) no("category_not_covered");
        var nonce = hex(one(p, 3, new Uint8Array()));
        if (queue.some(function (r) { return r.nonce === nonce; })) no("presentation_already_used");
        var subsidy = 0;
        if (programme && amount) {
          subsidy = Math.floor(amount * programme.subsidy_ratio_bp / 10000);
          if (programme.rounding === "yuan") subsidy -= subsidy % 100;
          subsidy = Math.min(subsidy, listed ? listed.remaining_fen : face);
          if (subsidy <= 0) no("subsidy_zero");
          if (amount - subsidy <= 0) no("enterprise_share_not_positive");
          var mine = queue.filter(function (r) { return r.list_number === list.number; });
          var onVoucher = mine.filter(function (r) { return r.voucher_id === voucherId; })
            .reduce(function (s, r) { return s + r.subsidy_fen; }, 0);
          var total = mine.reduce(function (s, r) { return s + r.subsidy_fen; }, 0);
          if (onVoucher + subsidy > programme.offline.voucher_cap_fen) no("offline_voucher_cap_exceeded");
          if (mine.length + 1 > programme.offline.device_cap_count || total + subsidy > programme.offline.device_cap_fen) {
            no("offline_device_cap_exceeded");
          }
        } else if (!amount) {
          no("contract_amount_invalid");
        }
        return Promise.all(checks).then(function () {
          if (!reasons.length) {
            checked = {
              sealed: sealed, voucher_id: voucherId, nonce: nonce, amount: amount,
              subsidy: subsidy, category: category, list_number: list.number
            };
          }
          return finish(reasons, subsidy, amount);
        });
      });
    }

    function verifyHex(published, envelope) {
      var raw = new Uint8Array(published.public_key.match(/../g).map(function (h) { return parseInt(h, 16); }));
      return verify("Ed25519", raw, envelope.signature, envelope.payload);
    }

    function finish(reasons, subsidy, amount) {
      resultBox.innerHTML = "";
      resultBox.hidden = false;
      if (reasons.length) {
        resultBox.className = "notice error";
        var heading = document.createElement("strong");
        heading.textContent = t("refused");
        resultBox.appendChild(heading);
        var listEl = document.createElement("ul");
        reasons.forEach(function (r) {
          var li = document.createElement("li");
          li.textContent = r;
          listEl.appendChild(li);
        });
        resultBox.appendChild(listEl);
      } else {
        resultBox.className = "notice ok";
        resultBox.textContent = t("acceptable")
          .replace("{subsidy}", (subsidy / 100).toFixed(2))
          .replace("{share}", ((amount - subsidy) / 100).toFixed(2));
        acceptButton.disabled = false;
      }
      return reasons;
    }

    function accept() {
      if (!checked) return;
      var item = checked;
      checked = null;
      acceptButton.disabled = true;
      return state("device").then(function (device) {
        var number = device.next_record;
        var now = Math.floor(Date.now() / 1000);
        var payload = new Message()
          .bytes(1, item.sealed)
          .bytes(2, uuidBytes(device.device_id))
          .int(3, number)
          .int(4, now)
          .int(5, item.list_number)
          .string(6, item.category)
          .int(7, item.amount)
          .int(8, item.subsidy)
          .string(9, el("contract-number").value.trim())
          .string(10, el("description").value.trim())
          .done();
        return sign(device.key, payload).then(function (signature) {
          device.next_record = number + 1;
          var row = {
            record_number: number, sealed: b64(seal(payload, signature)), voucher_id: item.voucher_id,
            nonce: item.nonce, amount_fen: item.amount, subsidy_fen: item.subsidy,
            accepted_at: now, list_number: item.list_number, status: "queued"
          };
          return setState("device", device).then(function () { return put("queue", row); });
        });
      }).then(function () {
        resultBox.className = "notice ok";
        resultBox.textContent = t("accepted");
        el("code").value = "";
        return showQueue();
      }).then(function () {
        // Online after all? Send it at once.
        return refresh();
      });
    }

    function fenOf(text) {
      var clean = String(text || "").replace(/[¥,，\s元]/g, "");
      if (!/^\d+(\.\d{1,2})?$/.test(clean)) return 0;
      var parts = clean.split(".");
      return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
    }

    el("register-button").addEventListener("click", register);
    checkButton.addEventListener("click", check);
    acceptButton.addEventListener("click", accept);
    el("sync").addEventListener("click", refresh);
    window.addEventListener("online", refresh);
    setInterval(function () {
      all("queue").then(function (rows) {
        if (rows.some(function (r) { return r.status === "queued"; })) refresh();
      });
    }, 15000);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(root.dataset.worker, { scope: root.dataset.scope }).catch(function () {});
    }
    Promise.all([state("device"), state("list")]).then(function (loaded) {
      showDevice(loaded[0]);
      showList(loaded[1]);
      return showQueue();
    }).then(refresh);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-offline-holder]").forEach(holder);
    document.querySelectorAll("[data-offline-counter]").forEach(counter);
  });
})();
