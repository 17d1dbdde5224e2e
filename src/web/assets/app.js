// voucher-ledger portals: the little JavaScript that earns its place.
// Every page works without it; with it:
// 1. a submitted form disables its buttons and says it is working (long
//    operations show progress; the idempotency key already makes a second
//    press harmless);
// 2. a rotating voucher QR is refreshed before it expires, with a countdown;
// 3. the provider's scan page reads QR codes from the camera or a photo
//    (jsQR, vendored under /assets/vendor/jsqr/); the video shows only
//    while the camera is on;
// 4. the redeem form warns, as the clerk types, of what settlement will
//    hold back (no invoice, an invoice below the contract, no payment
//    proof) — the same checks the server applies;
// 5. on a phone, tables turn into stacked cards: each cell is labelled
//    with its column's heading (the CSS does the rest).
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        if (button.dataset.busy) button.textContent = button.dataset.busy;
      });
    });
  });
  document.querySelectorAll("[data-presentation]").forEach(rotatingQr);
  document.querySelectorAll("[data-scanner]").forEach(scanner);
  document.querySelectorAll("table").forEach(labelCells);
  document.querySelectorAll("[data-live-warnings]").forEach(liveWarnings);
});

// 元 as typed (1,234.50 or ¥80) in fen, or null when it is not a number.
function fenOf(text) {
  var clean = String(text || "").replace(/[¥,，\s元]/g, "");
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
  var parts = clean.split(".");
  return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
}

function liveWarnings(box) {
  var form = box.closest("form");
  var list = box.querySelector("ul");
  function value(name) {
    var field = form.querySelector("[name=" + name + "]");
    return field ? field.value.trim() : "";
  }
  function update() {
    var found = [];
    var invoice = fenOf(value("invoice_amount"));
    var contract = fenOf(value("contract_amount"));
    if (!value("invoice_number") || invoice === null) {
      found.push(box.dataset.invoiceMissing);
    } else if (contract !== null && invoice < contract) {
      found.push(box.dataset.invoiceShort);
    }
    if (!value("payment_proof_ref")) found.push(box.dataset.proofMissing);
    list.innerHTML = "";
    found.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    box.hidden = found.length === 0;
  }
  form.addEventListener("input", update);
  update();
}

// Each body cell gets its column's heading as data-label (a cell spanning
// columns takes the first one's), and the table is marked for card layout.
function labelCells(table) {
  var headings = Array.prototype.map.call(
    table.querySelectorAll("thead th"),
    function (th) { return th.textContent.trim(); }
  );
  if (!headings.length) return;
  table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
    var column = 0;
    Array.prototype.forEach.call(row.children, function (cell) {
      if (!cell.hasAttribute("data-label") && headings[column]) {
        cell.setAttribute("data-label", headings[column]);
      }
      column += cell.colSpan || 1;
    });
  });
  table.classList.add("cards");
}

// The QR of a rotating voucher: the server signs a presentation that lives
// `data-lifetime` seconds; fetch the next one a few seconds before that.
function rotatingQr(box) {
  var countdown = document.querySelector("[data-countdown]");
  var left = parseInt(box.dataset.lifetime, 10) || 60;
  var refreshing = false;
  var timer = null;
  function tick() {
    left -= 1;
    if (countdown) countdown.textContent = String(Math.max(left, 0));
    if (left <= 5 && !refreshing) {
      refreshing = true;
      fetch(box.dataset.presentation, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          box.innerHTML = html;
          left = parseInt(box.dataset.lifetime, 10) || 60;
          // The voucher is held or used now: nothing more to show.
          if (box.querySelector("[data-qr-stop]")) {
            clearInterval(timer);
            if (countdown) countdown.parentNode.hidden = true;
          }
        })
        .catch(function () {
          if (countdown) countdown.textContent = box.dataset.failed || "!";
        })
        .finally(function () { refreshing = false; });
    }
  }
  timer = setInterval(tick, 1000);
}

// The scan page: camera frames (or a chosen photo) are searched for a QR
// code; one that looks like a voucher (VL1:) or presentation (VP1:, or an
// offline one, VO1:) fills the code field and the camera stops.
function scanner(root) {
  var video = root.querySelector("video");
  var status = root.querySelector("[data-scan-status]");
  var target = document.getElementById(root.dataset.target);
  var photo = root.querySelector("input[type=file]");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var timer = null;

  function say(text) { if (status) status.textContent = text; }

  function found(text) {
    if (!/^V[LPO]1:/.test(text)) return false;
    target.value = text;
    target.dispatchEvent(new Event("input", { bubbles: true }));
    say(root.dataset.found);
    stop();
    var next = document.getElementById(root.dataset.next);
    if (next) next.focus();
    return true;
  }

  function decode(source, width, height) {
    if (!width || !height || typeof jsQR !== "function") return false;
    canvas.width = width;
    canvas.height = height;
    context.drawImage(source, 0, 0, width, height);
    var image = context.getImageData(0, 0, width, height);
    var code = jsQR(image.data, width, height, { inversionAttempts: "attemptBoth" });
    return code ? found(code.data) : false;
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(root.dataset.nocamera);
      return;
    }
    say(root.dataset.starting);
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        return video.play();
      })
      .then(function () {
        video.hidden = false;
        say(root.dataset.scanning);
        timer = setInterval(function () {
          decode(video, video.videoWidth, video.videoHeight);
        }, 200);
      })
      .catch(function () { stop(); say(root.dataset.nocamera); });
  }

  var button = root.querySelector("[data-scan-start]");
  if (button) button.addEventListener("click", function () { stop(); start(); });
  if (photo) {
    photo.addEventListener("change", function () {
      var file = photo.files && photo.files[0];
      if (!file || !window.createImageBitmap) return;
      createImageBitmap(file).then(function (bitmap) {
        if (!decode(bitmap, bitmap.width, bitmap.height)) say(root.dataset.photofailed);
      }).catch(function () { say(root.dataset.photofailed); });
    });
  }
  // A page drawn again after a refusal keeps the code the user had; the
  // camera then waits for the restart button instead of writing over it.
  if (target.value.trim()) {
    say(root.dataset.filled);
  } else {
    start();
  }
}
