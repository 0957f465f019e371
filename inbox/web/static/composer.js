/* The reply composer: the platform's length counted as the platform counts it (the same rules as
   inbox/domain/reply_text.py), canned responses, a live preview. Without JavaScript the form still
   posts and the server checks the length. */
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;
  var text = document.getElementById("reply-text");
  var count = document.getElementById("reply-count");
  var over = document.getElementById("reply-over");
  var preview = document.getElementById("reply-preview");
  var send = document.getElementById("reply-send");
  var canned = document.getElementById("canned");
  var platform = form.getAttribute("data-platform");
  var limit = parseInt(form.getAttribute("data-limit") || "10000", 10);
  var PATH = "(?:/[^\\s<>\"']*[^\\s<>\"'.,:;!?)\\]}])?";
  var URL_RE = new RegExp("https?://[^\\s<>\"'/]+" + PATH, "giu");
  /* X counts a link without its scheme too: a generic TLD (the server's list), or a country code
     with a sub-domain or a path */
  var BARE_RE = new RegExp("(?<![\\p{L}\\p{N}_@.\\-/#$])((?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\\.)+)(" +
    (form.getAttribute("data-tlds") || "com") + "|[a-z]{2})(?![\\p{L}\\p{N}_@-])(?::\\d{1,5})?(" + PATH + ")", "giu");
  /* Mastodon counts a remote mention @user@domain as @user */
  var MENTION_RE = /(?<![\/\p{L}\p{N}_])@([a-z0-9_]+)@[\p{L}\p{N}_.-]+[a-z0-9]+/giu;
  var LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  var EMOJI = /\p{Extended_Pictographic}/u;

  function graphemes(s) {
    if (window.Intl && Intl.Segmenter) {
      return Array.from(new Intl.Segmenter(undefined, {granularity: "grapheme"}).segment(s), function (g) { return g.segment; });
    }
    return Array.from(s);
  }
  function weight(cluster) {
    if (EMOJI.test(cluster)) return 2;
    var n = 0;
    Array.from(cluster).forEach(function (ch) {
      var cp = ch.codePointAt(0);
      n += LIGHT.some(function (r) { return cp >= r[0] && cp <= r[1]; }) ? 1 : 2;
    });
    return n;
  }
  function length(s) {
    s = s.normalize("NFC");
    var urls = 0;
    if (platform === "mastodon" || platform === "x") {
      urls = (s.match(URL_RE) || []).length * 23;
      s = s.replace(URL_RE, "\u0000");   /* a mark, dropped below: no link found across a removed one */
    }
    if (platform === "x") {
      s = s.replace(BARE_RE, function (m, labels, tld, path) {
        if (tld.length === 2 && labels.split(".").length === 2 && !path) return m;   /* "example.it" */
        urls += 23;
        return "\u0000";
      });
    }
    if (platform === "mastodon") s = s.replace(MENTION_RE, "@$1");
    s = s.split("\u0000").join("");
    if (platform === "bluesky") return graphemes(s).length;
    if (platform === "x") return urls + graphemes(s).reduce(function (a, g) { return a + weight(g); }, 0);
    return urls + Array.from(s).length;
  }
  function update() {
    var n = length(text.value);
    count.textContent = String(n);
    var tooLong = n > limit;
    over.hidden = !tooLong;
    send.disabled = tooLong || !text.value.trim();
    preview.textContent = text.value;   /* text, never markup */
  }
  text.addEventListener("input", update);
  if (canned) {
    canned.addEventListener("change", function () {
      if (canned.value) { text.value = canned.value; update(); text.focus(); }
    });
  }
  update();
})();
