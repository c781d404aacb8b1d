// Live updates for the status page: tiles and header replaced as the agent pushes them over
// server-sent events, the data age counted every second. Without this script the page
// refreshes itself (meta refresh in <noscript>).
"use strict";
(function () {
  var body = document.body;
  var tick = Number(body.dataset.tick) || 10;
  var at = Number(body.dataset.at) || 0;
  var live = document.getElementById("live");
  var tiles = document.getElementById("tiles");
  var detail = document.getElementById("detail");
  var source = null;
  var heard = Date.now();

  function showAge() {
    var age = document.getElementById("age");
    var stale = at > 0 && Date.now() / 1000 - at > 3 * tick + 2;
    body.classList.toggle("stale", stale);
    if (!age || at === 0) return;
    var seconds = Math.max(0, Math.round(Date.now() / 1000 - at));
    age.textContent = "(" + body.dataset.age.replace("{}", seconds) + (stale ? ", " + body.dataset.stale : "") + ")";
  }

  function setLost(lost) {
    live.hidden = !lost;
    live.textContent = lost ? body.dataset.lost : "";
  }

  function apply(update) {
    at = update.generated_at;
    document.getElementById("venue").innerHTML = update.header;
    update.tiles.forEach(function (tile) {
      var old = document.getElementById("z-" + tile.id);
      if (old) old.outerHTML = tile.html;
      else if (!tiles.dataset.zone) tiles.insertAdjacentHTML("beforeend", tile.html);
    });
    if (!tiles.dataset.zone) {
      // Worst first, as the server orders them; zones gone from the config disappear.
      var wanted = {};
      update.order.forEach(function (id) {
        var el = document.getElementById("z-" + id);
        if (el) { tiles.appendChild(el); wanted["z-" + id] = true; }
      });
      Array.prototype.slice.call(tiles.children).forEach(function (el) {
        if (!wanted[el.id]) el.remove();
      });
    }
    if (detail && typeof update.detail === "string") detail.innerHTML = update.detail;
    showAge();
  }

  function connect() {
    if (!window.EventSource) return;
    if (source) source.close();
    source = new EventSource(body.dataset.events);
    source.addEventListener("update", function (event) {
      heard = Date.now();
      setLost(false);
      apply(JSON.parse(event.data));
    });
    source.onopen = function () { heard = Date.now(); setLost(false); };
    source.onerror = function () { setLost(true); };
  }

  setInterval(function () {
    showAge();
    // The browser retries a failed stream by itself; a stream that stays silent (a proxy
    // holding it, a phone back from sleep) is reopened here.
    if (Date.now() - heard > (3 * tick + 20) * 1000) { heard = Date.now(); setLost(true); connect(); }
  }, 1000);
  showAge();
  connect();
})();
