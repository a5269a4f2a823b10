// Idle timeout: the server ends the session after data-idle-seconds without a request. Two
// minutes before, warn and offer to stay; at the end, go to the sign-in page. No inline script:
// the page's Content-Security-Policy allows only files from /static/.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle) { return; }
  var warnBefore = Math.min(120, Math.floor(idle / 2));
  var box = document.getElementById("idle-warning");
  var countdown = document.getElementById("idle-countdown");
  var stay = document.getElementById("idle-stay");
  var lastActivity = Date.now();
  var csrf = (JSON.parse(body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"];

  function resetTimer() { lastActivity = Date.now(); box.hidden = true; }
  document.addEventListener("htmx:afterRequest", resetTimer);

  stay.addEventListener("click", function () {
    fetch(body.getAttribute("data-keepalive-url"), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }
    }).then(function (response) {
      if (response.ok) { resetTimer(); } else { window.location = body.getAttribute("data-login-url"); }
    });
  });

  setInterval(function () {
    var left = idle - Math.floor((Date.now() - lastActivity) / 1000);
    if (left <= 0) {
      window.location = body.getAttribute("data-login-url") + "?next=" + encodeURIComponent(window.location.pathname);
    } else if (left <= warnBefore) {
      box.hidden = false;
      countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    }
  }, 1000);
})();
