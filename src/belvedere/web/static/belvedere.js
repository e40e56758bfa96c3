/* Belvedere tracker: page views (also in single-page apps), custom events, outbound links, downloads and
   data-attribute clicks. No cookies, no storage; honours Do Not Track and window.belvedereOptOut. */
(function (w, d) {
  "use strict";
  var s = d.currentScript, key = s && s.getAttribute("data-key");
  if (!key) return;
  var api = s.getAttribute("data-api") || new URL(s.src).origin + "/api/v1/capture";
  var dl = /\.(pdf|zip|gz|dmg|exe|msi|csv|xlsx?|docx?|pptx?|mp3|mp4|apk)$/i;
  var last;

  function off() {
    return w.belvedereOptOut || navigator.doNotTrack === "1" || w.doNotTrack === "1";
  }

  function send(type, name, props) {
    if (off()) return;
    var body = JSON.stringify({
      api_key: key, type: type, event: name, properties: props || {},
      context: {
        page: { url: location.href, referrer: d.referrer || null, title: d.title },
        screen: screen.width + "x" + screen.height, locale: navigator.language
      }
    });
    // text/plain keeps the request simple: no CORS preflight, and sendBeacon accepts it.
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(api, blob))) {
      fetch(api, { method: "POST", body: body, keepalive: true, credentials: "omit" });
    }
  }

  function page() {
    if (location.href === last) return;
    last = location.href;
    send("page");
  }

  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () {
      var r = orig.apply(this, arguments);
      page();
      return r;
    };
  });
  w.addEventListener("popstate", page);
  w.addEventListener("hashchange", page);

  d.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-belvedere-event],a[href]");
    if (!el) return;
    var name = el.getAttribute("data-belvedere-event");
    if (name) {
      var props = {};
      for (var i = 0; i < el.attributes.length; i++) {
        var a = el.attributes[i];
        if (a.name.indexOf("data-belvedere-prop-") === 0) props[a.name.slice(20)] = a.value;
      }
      return send("track", name, props);
    }
    var url = new URL(el.href, location.href);
    if (dl.test(url.pathname)) send("track", "$file_download", { url: url.href });
    else if (url.host !== location.host && /^https?:$/.test(url.protocol)) send("track", "$outbound_link", { url: url.href });
  }, true);

  w.belvedere = {
    track: function (name, props) { send("track", name, props); },
    page: function () { last = null; page(); }
  };
  page();
})(window, document);
