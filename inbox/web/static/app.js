/* social-inbox: keyboard shortcuts, confirmations and live updates (server-sent events).
   No framework, no build step; loaded with "defer" from every page (CSP: script-src 'self'). */
(function () {
  "use strict";
  var body = document.body;

  /* auto-submitting selects (language) and confirmations --------------------------------- */
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });

  /* bulk selection: the count of checked rows, said politely to screen readers */
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("input[data-select]")) return;
    var row = el.closest(".item-row");
    if (row) row.classList.toggle("selected", el.checked);
    var count = document.getElementById("bulk-count");
    if (count) {
      var n = document.querySelectorAll("input[data-select]:checked").length;
      count.textContent = count.getAttribute("data-template").replace("{n}", String(n));
    }
  });

  /* keyboard shortcuts --------------------------------------------------------------------- */
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "INPUT" && (el.type === "checkbox" || el.type === "radio")) return false;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".item-row .item-link"));
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    var i = list.indexOf(document.activeElement);
    i = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, i + step));
    list[i].focus();
  }
  /* sections loaded when first opened (<details data-lazy="URL">: the item's top words) ----- */
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d.matches || !d.matches("details[data-lazy]") || !d.open || d.hasAttribute("data-loaded")) return;
    var target = d.querySelector("[data-lazy-target]");
    if (!target) return;
    d.setAttribute("data-loaded", "loading");
    fetch(d.getAttribute("data-lazy"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { d.removeAttribute("data-loaded"); return; }
        target.innerHTML = html;  /* server-rendered, escaped by the template engine */
        d.setAttribute("data-loaded", "yes");
      })
      .catch(function () { d.removeAttribute("data-loaded"); });
  }, true);  /* toggle does not bubble: listen in the capture phase */

  /* the user's keys (body[data-keymap], set on the shortcuts page): off, or action -> key */
  var keymap = {off: true, keys: {}};
  try { keymap = JSON.parse(body.getAttribute("data-keymap") || '{"off": true}'); } catch (e) {}
  var actionOf = {};
  Object.keys(keymap.keys || {}).forEach(function (action) { if (keymap.keys[action]) actionOf[keymap.keys[action]] = action; });

  document.addEventListener("keydown", function (ev) {
    if (keymap.off || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var action = actionOf[ev.key.length === 1 && /[A-Z]/.test(ev.key) ? ev.key.toLowerCase() : ev.key];
    if (!action) return;
    if (action === "help") {
      var d = document.getElementById("shortcuts");
      if (d && d.showModal && !d.open) { d.showModal(); ev.preventDefault(); }
      return;
    }
    if (action === "next") { move(1); ev.preventDefault(); return; }
    if (action === "previous") { move(-1); ev.preventDefault(); return; }
    if (action === "open") {
      var cur = rows().indexOf(document.activeElement) >= 0 ? document.activeElement : rows()[0];
      if (cur) { cur.click(); ev.preventDefault(); }
      return;
    }
    if (action === "queues") { window.location.assign("/queues"); return; }
    if (action === "select") {
      var here = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".item-row") : null;
      var box = here ? here.querySelector("input[data-select]") : null;
      if (box) {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", {bubbles: true}));
        ev.preventDefault();
      }
      return;
    }
    var focusTarget = document.querySelector('[data-focus-action="' + action + '"]');
    if (focusTarget) { focusTarget.focus(); ev.preventDefault(); return; }
    var button = document.querySelector('[data-action="' + action + '"]');
    if (button) { ev.preventDefault(); button.click(); }
  });

  /* drafts: what is typed in a textarea[data-draft] is kept in this tab until a page says it was
     saved, so a refused form or an ended session loses nothing */
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-draft]"), function (el) {
    var key = "draft:" + location.pathname + ":" + (el.form ? el.form.getAttribute("action") : "") + ":" + el.name;
    try {
      if (document.querySelector(".flash-ok")) window.sessionStorage.removeItem(key);  /* it was saved */
      else if (!el.value && window.sessionStorage.getItem(key)) el.value = window.sessionStorage.getItem(key);
      el.addEventListener("input", function () { window.sessionStorage.setItem(key, el.value); });
    } catch (e) { /* storage refused: nothing to keep */ }
  });

  /* browser notifications: permission is asked for only when the user turns them on */
  var browserBox = document.getElementById("notify-browser");
  if (browserBox) {
    browserBox.addEventListener("change", function () {
      var denied = document.getElementById("notify-browser-denied");
      if (!browserBox.checked || !window.Notification || Notification.permission === "granted") return;
      Notification.requestPermission().then(function (answer) {
        if (answer === "denied" && denied) {
          browserBox.checked = false;
          denied.textContent = denied.getAttribute("data-text");
          denied.hidden = false;
        }
      });
    });
  }

  /* live updates ----------------------------------------------------------------------------- */
  if (!body.hasAttribute("data-user") || !window.EventSource) return;
  var containers = Array.prototype.slice.call(document.querySelectorAll("[data-live-refresh]"));
  var itemId = body.getAttribute("data-item-id");
  var itemVersion = parseInt(body.getAttribute("data-version") || "0", 10);
  var team = body.getAttribute("data-team");
  var pending = false, last = 0, MIN_GAP = 1000;

  function listedIds(c) {
    return Array.prototype.map.call(c.querySelectorAll("[data-item-id]"), function (el) {
      return parseInt(el.getAttribute("data-item-id"), 10);
    });
  }
  function refresh() {
    pending = false;
    last = Date.now();
    containers.forEach(function (c) {
      fetch(c.getAttribute("data-live-refresh"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var focused = document.activeElement && document.activeElement.closest
            ? document.activeElement.closest("[data-item-id]") : null;
          var keep = focused ? focused.getAttribute("data-item-id") : null;
          c.innerHTML = html;  /* server-rendered, escaped by the template engine */
          if (c.querySelector("[data-counts-behind]")) schedule();  /* counts may miss the last second: once more */
          if (keep) {
            var again = c.querySelector('[data-item-id="' + keep + '"] .item-link');
            if (again) again.focus();
          }
          body.setAttribute("data-live-refreshed", String(Date.now()));
        })
        .catch(function () {});
    });
  }
  function schedule() {
    if (pending) return;
    pending = true;
    setTimeout(refresh, Math.max(0, MIN_GAP - (Date.now() - last)));
  }
  if (containers.some(function (c) { return c.querySelector("[data-counts-behind]"); })) schedule();
  var es = new EventSource("/live");
  es.addEventListener("open", function () { body.setAttribute("data-live", "open"); });
  es.addEventListener("error", function () { body.setAttribute("data-live", "reconnecting"); });
  es.addEventListener("items", function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    var items = data.items || [];
    if (itemId) {
      items.forEach(function (it) {
        if (String(it.id) === itemId && it.v > itemVersion) {
          var b = document.getElementById("live-banner");
          if (b) {
            b.textContent = b.getAttribute("data-changed") || "This item changed. Reload to see the latest.";
            b.hidden = false;
          }
        }
      });
    }
    if (!containers.some(function (c) { return !c.hasAttribute("data-live-notices"); })) return;
    var relevant = items.some(function (it) {
      if (!team || it.team === team) return true;
      return containers.some(function (c) { return listedIds(c).indexOf(it.id) >= 0; });
    });
    if (relevant) schedule();
  });

  /* notifications for people: the header's bell, the tab title, browser notifications ------- */
  var bell = document.getElementById("notify-bell");
  var bellCount = document.getElementById("notify-count");
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  function setUnread(n) {
    if (bellCount) { bellCount.textContent = String(n); bellCount.hidden = !n; }
    if (bell) {
      bell.setAttribute("aria-label", n ? (bell.getAttribute("data-label-some") || "").replace("{n}", String(n))
        : bell.getAttribute("data-label-none"));
    }
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    body.setAttribute("data-unread", String(n));
  }
  es.addEventListener("notifications", function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    setUnread(data.unread || 0);
    if (body.getAttribute("data-notify-browser") === "on" && window.Notification
        && Notification.permission === "granted") {
      (data["new"] || []).forEach(function (n) {
        var shown = new Notification(n.text, {tag: "social-inbox-" + n.id});
        shown.onclick = function () { window.focus(); window.location.assign("/items/" + n.item_id); };
      });
    }
    if (containers.some(function (c) { return c.hasAttribute("data-live-notices"); })) schedule();
  });
})();
