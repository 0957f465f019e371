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
  var URL_RE = /https?:\/\/[^\s<>"']+/gi;
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
      s = s.replace(URL_RE, "");
    }
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
