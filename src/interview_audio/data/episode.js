(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("episode-data").textContent);
  var audio = document.getElementById("audio");
  var player = document.getElementById("player");
  var playButton = document.getElementById("play");
  var seek = document.getElementById("seek");
  var fill = document.getElementById("fill");
  var elapsed = document.getElementById("elapsed");
  var remaining = document.getElementById("remaining");
  var chapterNow = document.getElementById("chapter-now");
  var speed = document.getElementById("speed");
  var followButton = document.getElementById("follow");
  var toast = document.getElementById("toast");
  var search = document.getElementById("search");
  var searchCount = document.getElementById("search-count");
  var sentences = Array.prototype.slice.call(document.querySelectorAll("#transcript .s"));
  var starts = sentences.map(function (s) { return parseFloat(s.dataset.start); });
  var chapterLinks = Array.prototype.slice.call(document.querySelectorAll("#chapters a"));
  var storageKey = "interview-audio:position:" + data.guid;
  var rateKey = "interview-audio:rate";
  var duration = data.duration;

  var current = null;
  var currentChapter = -1;
  var follow = true;
  var lastSaved = 0;
  var seeking = false;

  // ------------------------------------------------------------------ helpers

  // Whole seconds as display.py's clock shows them: to the millisecond, then truncated.
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(Math.round((seconds || 0) * 1000) / 1000));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // "754", "754.5", "12:34", "1:02:03" -> seconds; null when not a time.
  function parseTime(text) {
    if (!/^\d+(\.\d+)?$|^\d+(:\d{1,2}){1,2}(\.\d+)?$/.test(text)) return null;
    return text.split(":").reduce(function (total, part) {
      return total * 60 + parseFloat(part);
    }, 0);
  }

  function hashTime() {
    var match = /(?:^#|&)t=([^&]+)/.exec(window.location.hash);
    return match ? parseTime(decodeURIComponent(match[1])) : null;
  }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* storage is off (private mode, file:// in some browsers) */ }
  }

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  var toastTimer = null;
  function say(text) {
    toast.textContent = text;
    toast.classList.add("show");
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { toast.classList.remove("show"); }, 2600);
  }

  function setTime(seconds) {
    var t = Math.max(0, Math.min(seconds, (audio.duration || duration) - 0.05));
    audio.currentTime = t;
    show(t);
  }

  function playFrom(seconds) {
    setTime(seconds);
    follow = true;
    followButton.hidden = true;
    var started = audio.play();
    if (started && started.catch) started.catch(function () { /* the user presses play */ });
  }

  // ------------------------------------------------------------------ showing the time

  function sentenceAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found < 0 ? null : sentences[found];
  }

  function chapterAt(t) {
    var found = 0;
    for (var i = 0; i < data.chapters.length; i++) {
      if (data.chapters[i].start <= t + 0.05) found = i;
    }
    return data.chapters.length ? found : -1;
  }

  function show(t) {
    var total = audio.duration || duration;
    if (!seeking) seek.value = t;
    fill.style.width = (total ? (100 * t) / total : 0) + "%";
    elapsed.textContent = clock(t);
    remaining.textContent = "-" + clock(total - t);
    var index = chapterAt(t);
    if (index !== currentChapter) {
      if (currentChapter >= 0 && chapterLinks[currentChapter]) {
        chapterLinks[currentChapter].parentNode.classList.remove("current");
        chapterLinks[currentChapter].removeAttribute("aria-current");
      }
      currentChapter = index;
      if (index >= 0) {
        chapterNow.textContent = data.chapters[index].title;
        if (chapterLinks[index]) {
          chapterLinks[index].parentNode.classList.add("current");
          chapterLinks[index].setAttribute("aria-current", "true");
        }
      }
    }
    var sentence = sentenceAt(t);
    if (sentence !== current) {
      if (current) current.classList.remove("current");
      current = sentence;
      if (current) {
        current.classList.add("current");
        if (follow && !audio.paused) keepInView(current);
      }
    }
  }

  // Scroll only when the sentence leaves the comfortable middle of the screen.
  var ownScrollUntil = 0;
  function keepInView(element) {
    var box = element.getBoundingClientRect();
    var playerBox = player.getBoundingClientRect();
    var top = playerBox.top < 10 ? playerBox.bottom : 0;
    var bottom = playerBox.top > 10 ? playerBox.top : window.innerHeight;
    var band = bottom - top;
    if (box.top >= top + band * 0.15 && box.bottom <= top + band * 0.75) return;
    ownScrollUntil = Date.now() + 1000;
    element.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  function userScrolled() {
    if (Date.now() < ownScrollUntil) {
      ownScrollUntil = Math.max(ownScrollUntil, Date.now() + 150);
      return;
    }
    if (!audio.paused && follow) {
      follow = false;
      followButton.hidden = false;
    }
  }

  function measurePlayer() {
    var box = player.getBoundingClientRect();
    var sticky = window.getComputedStyle(player).position !== "fixed";
    document.documentElement.style.setProperty("--player-h", (sticky ? box.height : 0) + "px");
  }

  // ------------------------------------------------------------------ player events

  audio.addEventListener("timeupdate", function () {
    show(audio.currentTime);
    if (Math.abs(audio.currentTime - lastSaved) >= 5) save();
  });
  audio.addEventListener("seeked", function () { show(audio.currentTime); });
  audio.addEventListener("play", function () {
    document.body.classList.add("playing");
    playButton.setAttribute("aria-label", "暂停");
    if (current && follow) keepInView(current);
  });
  audio.addEventListener("pause", function () {
    document.body.classList.remove("playing");
    playButton.setAttribute("aria-label", "播放");
    save();
  });
  audio.addEventListener("ended", function () { store(storageKey, null); });
  audio.addEventListener("loadedmetadata", function () {
    seek.max = audio.duration;
    show(audio.currentTime);
  });
  audio.addEventListener("error", function () {
    say("无法播放 " + audio.getAttribute("src") + "：文件缺失或格式不受支持");
  });

  function save() {
    lastSaved = audio.currentTime;
    var total = audio.duration || duration;
    if (audio.currentTime > 5 && audio.currentTime < total - 10) {
      store(storageKey, audio.currentTime.toFixed(1));
    } else if (audio.currentTime >= total - 10) {
      store(storageKey, null);
    }
  }
  window.addEventListener("pagehide", save);

  playButton.addEventListener("click", function () {
    if (audio.paused) playFrom(audio.currentTime);
    else audio.pause();
  });
  document.getElementById("back").addEventListener("click", function () {
    setTime(audio.currentTime - 15);
  });
  document.getElementById("forward").addEventListener("click", function () {
    setTime(audio.currentTime + 30);
  });
  seek.addEventListener("input", function () {
    seeking = true;
    show(parseFloat(seek.value));
  });
  seek.addEventListener("change", function () {
    seeking = false;
    setTime(parseFloat(seek.value));
  });
  speed.addEventListener("change", function () {
    audio.defaultPlaybackRate = audio.playbackRate = parseFloat(speed.value);
    store(rateKey, speed.value);
  });

  chapterLinks.forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      playFrom(parseFloat(link.dataset.start));
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".who a"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      playFrom(parseFloat(link.dataset.start));
    });
  });
  document.getElementById("transcript").addEventListener("click", function (event) {
    var sentence = event.target.closest ? event.target.closest(".s") : null;
    if (!sentence || (window.getSelection && String(window.getSelection()).length)) return;
    playFrom(parseFloat(sentence.dataset.start));
  });

  followButton.addEventListener("click", function () {
    follow = true;
    followButton.hidden = true;
    if (current) keepInView(current);
  });
  window.addEventListener("wheel", userScrolled, { passive: true });
  window.addEventListener("touchmove", userScrolled, { passive: true });
  window.addEventListener("scroll", userScrolled, { passive: true });

  // ------------------------------------------------------------------ deep links

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
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
      if (ok) resolve(); else reject(new Error("copy refused"));
    });
  }

  document.getElementById("copy-link").addEventListener("click", function () {
    var hash = "#t=" + clock(audio.currentTime);
    try { window.history.replaceState(null, "", hash); } catch (e) { window.location.hash = hash; }
    var url = window.location.href;
    copyText(url).then(
      function () { say("已复制链接：" + clock(audio.currentTime) + " 处"); },
      function () { say("请从地址栏复制：" + url); }
    );
  });

  window.addEventListener("hashchange", function () {
    var t = hashTime();
    if (t !== null) setTime(t);
  });

  // ------------------------------------------------------------------ keyboard

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = event.target.tagName;
    var typing = tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.target.isContentEditable;
    if (typing) {
      if (event.key === "Escape" && event.target === search) { search.value = ""; runSearch(); search.blur(); }
      return;
    }
    if (event.key === " " || event.key === "Spacebar") {
      // Play/pause from anywhere but a text field, also when a button has the focus.
      event.preventDefault();
      playButton.click();
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      setTime(audio.currentTime - 15);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      setTime(audio.currentTime + 30);
    } else if (event.key === "/") {
      event.preventDefault();
      search.focus();
    } else if (["PageUp", "PageDown", "ArrowUp", "ArrowDown", "Home", "End"].indexOf(event.key) >= 0) {
      userScrolled();
    }
  });

  // ------------------------------------------------------------------ search

  var hits = [];
  var hitIndex = -1;

  function clearMarks() {
    Array.prototype.forEach.call(document.querySelectorAll("#transcript .s.hit"), function (s) {
      s.classList.remove("hit");
      s.textContent = s.textContent;
    });
  }

  function markSentence(sentence, query) {
    var text = sentence.textContent;
    var lower = text.toLowerCase();
    var fragment = document.createDocumentFragment();
    var marks = [];
    var at = 0;
    var found = lower.indexOf(query, at);
    while (found >= 0) {
      fragment.appendChild(document.createTextNode(text.slice(at, found)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(found, found + query.length);
      fragment.appendChild(mark);
      marks.push(mark);
      at = found + query.length;
      found = lower.indexOf(query, at);
    }
    fragment.appendChild(document.createTextNode(text.slice(at)));
    sentence.textContent = "";
    sentence.appendChild(fragment);
    sentence.classList.add("hit");
    return marks;
  }

  function runSearch() {
    clearMarks();
    hits = [];
    hitIndex = -1;
    var query = search.value.trim().toLowerCase();
    if (!query) { searchCount.textContent = ""; return; }
    sentences.forEach(function (sentence) {
      if (sentence.textContent.toLowerCase().indexOf(query) >= 0) {
        hits = hits.concat(markSentence(sentence, query));
      }
    });
    if (!hits.length) { searchCount.textContent = "没有找到"; return; }
    goToHit(0);
  }

  function goToHit(index) {
    if (!hits.length) return;
    if (hitIndex >= 0) hits[hitIndex].classList.remove("active");
    hitIndex = (index + hits.length) % hits.length;
    var mark = hits[hitIndex];
    mark.classList.add("active");
    searchCount.textContent = hitIndex + 1 + " / " + hits.length;
    follow = false;
    followButton.hidden = audio.paused;
    ownScrollUntil = Date.now() + 1000;
    mark.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  var searchTimer = null;
  search.addEventListener("input", function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(runSearch, 200);
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      window.clearTimeout(searchTimer);
      var query = search.value.trim().toLowerCase();
      if (!hits.length || !hits[0].closest || query !== hits[0].textContent.toLowerCase()) runSearch();
      else goToHit(hitIndex + (event.shiftKey ? -1 : 1));
    }
  });
  document.getElementById("search-next").addEventListener("click", function () { goToHit(hitIndex + 1); });
  document.getElementById("search-prev").addEventListener("click", function () { goToHit(hitIndex - 1); });

  // ------------------------------------------------------------------ start

  measurePlayer();
  window.addEventListener("resize", measurePlayer);
  var rate = stored(rateKey);
  if (rate && speed.querySelector('option[value="' + rate + '"]')) {
    speed.value = rate;
    audio.defaultPlaybackRate = audio.playbackRate = parseFloat(rate);
  }
  var start = hashTime();
  if (start === null) {
    var resume = parseFloat(stored(storageKey));
    if (resume > 0) {
      start = resume;
      say("从上次听到的 " + clock(resume) + " 继续");
    }
  }
  if (start !== null) setTime(start);
  else show(0);
  audio.addEventListener("loadedmetadata", function () {
    if (start !== null && Math.abs(audio.currentTime - start) > 0.5) setTime(start);
  }, { once: true });
})();
