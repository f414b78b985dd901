
"use strict";
function narratorCopy(text, done) {
  function fallback() {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else {
    fallback();
  }
}
function narratorSay(message) {
  var status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(function () { status.textContent = message; }, 60);
}
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) { return; }
  var field = document.getElementById(button.getAttribute("data-copy"));
  narratorCopy(field.value, function (ok) {
    if (!ok) { field.select(); }
    narratorSay(ok ? "Adresse copiée." : "Sélectionnée : copiez-la avec Ctrl+C.");
  });
});
