// The service worker of the provider's offline page
// (docs/redemption-lifecycle.md "Offline"): it keeps the page and its files
// so the page opens with no network; everything the page needs beyond them
// (keys, status lists, the queue) is in IndexedDB. The page itself is
// fetched from the network first (a fresh page carries a fresh session
// token) and from the cache when the network fails. Nothing of the API is
// cached here.
"use strict";

var VERSION = "__VERSION__";
var CACHE = "voucher-ledger-offline-" + VERSION;
var PAGE = "/provider/offline";
var FILES = __FILES__;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll([PAGE].concat(FILES));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("voucher-ledger-offline-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
        }
        return response;
      }).catch(function () {
        return caches.open(CACHE).then(function (cache) { return cache.match(PAGE); });
      })
    );
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(url.pathname).then(function (hit) { return hit || fetch(request); });
      })
    );
  }
});
