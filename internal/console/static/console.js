// peerbridge console: the live list of events (server-sent events) and a key to search.
// Hand-written, no build step; the pages work without it, but the list is then not live.
"use strict";
(function () {
  var list = document.getElementById("events");
  var live = document.getElementById("live");
  var q = document.getElementById("q");
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && q && document.activeElement !== q && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      e.preventDefault();
      q.focus();
    }
  });
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-stream"));
  var max = 500;
  function row(r) {
    var li = document.createElement("li");
    li.id = "ev-" + r.id;
    li.setAttribute("data-id", r.id);
    var a = document.createElement("a");
    a.href = r.href;
    var badge = document.createElement("span");
    badge.className = "outcome o-" + r.outcome;
    badge.textContent = r.outcome;
    var code = document.createElement("code");
    code.textContent = r.heading;
    a.appendChild(badge);
    a.appendChild(document.createTextNode(" "));
    a.appendChild(code);
    li.appendChild(a);
    return li;
  }
  source.addEventListener("open", function () { if (live) { live.textContent = "live"; } });
  source.addEventListener("error", function () { if (live) { live.textContent = "reconnecting…"; } });
  source.addEventListener("row", function (m) {
    var r = JSON.parse(m.data);
    var old = document.getElementById("ev-" + r.id);
    if (r.hide) { if (old) { old.remove(); } return; }
    var li = row(r);
    if (old) { old.replaceWith(li); return; }
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    li.className = "new";
    list.insertBefore(li, list.firstChild);
    while (list.children.length > max) { list.lastElementChild.remove(); }
  });
})();
