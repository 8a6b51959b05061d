/* The live tail's client: reads /api/v1/tail (server-sent events over fetch, so a refusal's message can be shown),
   keeps the newest 1,000 lines, pauses and resumes the view. The page's elements are found by id when used. */
(function () {
  const KEEP = 1000;
  const state = { buffer: [], paused: false, whilePaused: 0, abort: null, drawn: false, counts: null };

  function el(id) { return document.getElementById(id); }

  function query() {
    const p = new URLSearchParams();
    const api = (el("tail-api") || {}).value || "";
    api.split(",").map(function (s) { return s.trim(); }).filter(Boolean).forEach(function (a) { p.append("api", a); });
    document.querySelectorAll("#tail-level input:checked").forEach(function (i) { p.append("level", i.value); });
    const status = (el("tail-status") || {}).value || "";
    status.split(",").map(function (s) { return s.trim(); }).filter(Boolean).forEach(function (s) { p.append("status", s); });
    const q = ((el("tail-q") || {}).value || "").trim();
    if (q) p.append("q", q);
    return p.toString();
  }

  function say(id, text) { const e = el(id); if (e) e.textContent = text; }

  function stamp(ms) {
    if (ms === null || ms === undefined) return "—".padEnd(23);
    return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  }

  function draw() {
    state.drawn = false;
    const box = el("tail-lines");
    if (!box || state.paused) return;
    const frag = document.createDocumentFragment();
    for (let i = state.buffer.length - 1; i >= 0; i--) {
      const l = state.buffer[i];
      const row = document.createElement("div");
      row.className = "tail-line" + (l.invalid ? " text-danger" : l.level === "ERROR" || l.level === "CRITICAL" ? " text-warning" : "");
      row.textContent = stamp(l.t) + "  " + String(l.level || "INVALID").padEnd(8) + " " + String(l.status || "").padEnd(4) +
        String(l.api || "").padEnd(24) + " " + (l.invalid ? "(" + l.invalid + ") " : "") + l.text;
      frag.appendChild(row);
    }
    box.replaceChildren(frag);
  }

  function later() {
    if (!state.drawn) { state.drawn = true; window.requestAnimationFrame(draw); }
  }

  function showCounts() {
    const c = state.counts;
    if (!c) return;
    let text = "scanned " + c.scanned + " · matched " + c.matched + " · sent " + c.sent + " · sampled out " + c.sampled_out;
    if (state.paused) text += " · " + state.whilePaused + " new while paused";
    say("tail-counts", text);
  }

  function handle(kind, data) {
    if (kind === "lines") {
      state.buffer.push.apply(state.buffer, data);
      if (state.paused) state.whilePaused += data.length;
      if (state.buffer.length > KEEP) state.buffer.splice(0, state.buffer.length - KEEP);
      later();
    } else if (kind === "counts") {
      state.counts = data;
      showCounts();
    } else if (kind === "ready") {
      say("tail-state", "live: reading the newest events");
      say("tail-problem", "");
    } else if (kind === "problem") {
      say("tail-problem", data.message || "");
    }
  }

  async function run(controller) {
    say("tail-state", "connecting…");
    let response;
    try {
      response = await fetch("/api/v1/tail?" + query(), { signal: controller.signal, headers: { Accept: "text/event-stream" } });
    } catch (e) {
      if (controller.signal.aborted || state.abort !== controller) return;
      say("tail-state", "cannot reach the dashboard: " + e);
      return stopped();
    }
    if (state.abort !== controller) return; // stopped (and perhaps started again) meanwhile
    if (!response.ok) {
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      say("tail-problem", message);
      say("tail-state", response.status === 429 ? "refused: too many live tails" : "refused");
      return stopped();
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, cut);
          text = text.slice(cut + 2);
          let kind = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.startsWith("event: ")) kind = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          });
          if (data) handle(kind, JSON.parse(data));
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    if (state.abort === controller) { // the server ended the stream (its time limit): open it again
      say("tail-state", "reconnecting…");
      setTimeout(function () { if (state.abort === controller) run(controller); }, 1000);
    }
  }

  function stopped() {
    state.abort = null;
    const start = el("tail-start"), pause = el("tail-pause");
    if (start) start.textContent = "Start";
    if (pause) pause.disabled = true;
  }

  function start() {
    const controller = new AbortController();
    state.abort = controller;
    state.buffer = [];
    state.counts = null;
    state.paused = false;
    state.whilePaused = 0;
    say("tail-counts", "");
    say("tail-problem", "");
    el("tail-start").textContent = "Stop";
    const pause = el("tail-pause");
    pause.disabled = false;
    pause.textContent = "Pause";
    later();
    run(controller);
  }

  function stop() {
    if (state.abort) state.abort.abort();
    stopped();
    say("tail-state", "stopped");
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.id === "tail-start") {
      if (state.abort) stop(); else start();
    } else if (target.id === "tail-pause" && state.abort) {
      state.paused = !state.paused;
      target.textContent = state.paused ? "Resume" : "Pause";
      say("tail-state", state.paused ? "paused: new lines are kept (the newest 1,000)" : "live");
      state.whilePaused = 0;
      showCounts();
      later();
    }
  });
  // leaving the page (Dash changes pages without reloading) ends the tail and frees the server's slot
  window.addEventListener("popstate", function () { if (!el("tail-lines") && state.abort) stop(); });
  new MutationObserver(function () { if (state.abort && !el("tail-lines")) stop(); })
    .observe(document.documentElement, { childList: true, subtree: true });
})();
