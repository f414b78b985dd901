
(function () {
  var audio = document.getElementById("audio");
  var cues = [].slice.call(document.querySelectorAll("#transcript [data-start]"));
  var chapters = [].slice.call(document.querySelectorAll("#chapters [data-start]"));
  var follow = document.getElementById("follow");
  var player = document.getElementById("player");
  var now = document.getElementById("now");
  var canonical = document.querySelector("link[rel=canonical]").href;
  function time(el, name) { return parseFloat(el.getAttribute(name)); }
  var starts = cues.map(function (c) { return time(c, "data-start"); });
  var chapterStarts = chapters.map(function (c) { return time(c, "data-start"); });
  var current = null, chapter = null, following = true, userAt = 0;
  var smooth = !(window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches);

  function lastAtOrBefore(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function inView(el) {
    var box = el.getBoundingClientRect();
    var top = player.getBoundingClientRect().bottom;
    return box.top >= top && box.bottom <= window.innerHeight;
  }
  function reveal(el) {
    el.scrollIntoView({block: "center", behavior: smooth ? "smooth" : "auto"});
  }
  function setFollowing(value) {
    following = value;
    follow.hidden = value || !current;
  }
  function mark(t) {
    var c = lastAtOrBefore(chapterStarts, t + 0.001);
    var nextChapter = c >= 0 ? chapters[c] : null;
    if (nextChapter !== chapter) {
      if (chapter) { chapter.classList.remove("on"); }
      if (nextChapter) { nextChapter.classList.add("on"); }
      chapter = nextChapter;
      now.textContent = chapter ? chapter.lastElementChild.textContent : "";
    }
    if (!cues.length) { return; }
    var i = Math.max(0, lastAtOrBefore(starts, t + 0.001));
    // In the pause that opens a chapter, show its first cue, not the last
    // cue of the chapter before.
    if (c >= 0 && starts[i] < chapterStarts[c] && i + 1 < cues.length) { i += 1; }
    var cue = cues[i];
    if (cue === current) { return; }
    if (current) { current.removeAttribute("aria-current"); }
    cue.setAttribute("aria-current", "true");
    current = cue;
    if (following && !inView(cue)) { reveal(cue); }
  }
  function seek(t, play) {
    audio.currentTime = t;
    setFollowing(true);
    mark(t);
    if (current && !inView(current)) { reveal(current); }
    if (play) {
      var started = audio.play();
      if (started && started.catch) { started.catch(function () {}); }
    }
  }
  function tick() {
    mark(audio.currentTime);
    if (!audio.paused) { window.requestAnimationFrame(tick); }
  }
  ["timeupdate", "seeked", "seeking"].forEach(function (name) {
    audio.addEventListener(name, function () { mark(audio.currentTime); });
  });
  audio.addEventListener("play", function () { window.requestAnimationFrame(tick); });

  document.getElementById("chapters") &&
  document.getElementById("chapters").addEventListener("click", function (event) {
    var entry = event.target.closest("[data-start]");
    if (entry) { seek(time(entry, "data-start"), true); }
  });
  document.getElementById("transcript").addEventListener("click", function (event) {
    var cue = event.target.closest("[data-start]");
    if (cue && !String(window.getSelection())) { seek(time(cue, "data-start"), true); }
  });
  follow.addEventListener("click", function () {
    setFollowing(true);
    if (current) { reveal(current); }
  });

  // Scrolling by the reader (not by the page itself) stops the follow until
  // the spoken cue is back in view or "Revenir à la lecture" is pressed.
  function touched() { userAt = Date.now(); }
  ["wheel", "touchmove", "mousedown"].forEach(function (name) {
    window.addEventListener(name, touched, {passive: true});
  });
  window.addEventListener("keydown", function (event) {
    if (/^(Page|Arrow(Up|Down)|Home|End| )/.test(event.key)) { touched(); }
  });
  window.addEventListener("scroll", function () {
    if (current && Date.now() - userAt < 1500) { setFollowing(inView(current)); }
  }, {passive: true});

  function parseTime(text) {
    if (!text) { return null; }
    var m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(text);
    if (m && m[0]) {
      return (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
    }
    var parts = text.split(":");
    function bad(p) { return !/^\d+(\.\d+)?$/.test(p); }
    if (parts.length > 3 || parts.some(bad)) { return null; }
    return parts.reduce(function (total, p) { return total * 60 + parseFloat(p); }, 0);
  }
  function linkedTime() {
    var hash = /(?:^#|&)t=([^&]*)/.exec(location.hash);
    var query = /[?&]t=([^&]*)/.exec(location.search);
    var found = hash || query;
    return found ? parseTime(decodeURIComponent(found[1])) : null;
  }
  function openLinkedTime() {
    var t = linkedTime();
    if (t !== null) { seek(t, false); }
  }
  window.addEventListener("hashchange", openLinkedTime);
  openLinkedTime();

  document.getElementById("moment").addEventListener("click", function () {
    var here = /^https?:$/.test(location.protocol) ? location.href : canonical;
    var url = here.split("#")[0].replace(/([?&])t=[^&]*(&|$)/, function (all, a, b) {
      return b ? a : "";
    }) + "#t=" + Math.floor(audio.currentTime);
    narratorCopy(url, function (ok) {
      narratorSay((ok ? "Lien copié : " : "Copiez ce lien : ") + url);
    });
  });
})();
