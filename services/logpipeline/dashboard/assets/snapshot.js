/* "PNG": the page as one image, drawn in the browser: the background, each card's frame, every visible text where it
   stands (in its own font and colour) and each chart as Plotly renders it (Plotly.toImage), at the page's size. */
(function () {
  function visible(el) {
    const style = window.getComputedStyle(el);
    return style.display !== "none" && style.visibility !== "hidden" && el.getClientRects().length > 0;
  }

  function hiddenWithin(el, root) {
    for (let e = el; e && e !== root; e = e.parentElement) {
      if (!visible(e)) return true;
    }
    return false;
  }

  function load(url) {
    return new Promise(function (resolve, reject) {
      const img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = reject;
      img.src = url;
    });
  }

  async function draw(root) {
    const box = root.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(box.width * ratio);
    canvas.height = Math.ceil(root.scrollHeight * ratio);
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.fillStyle = window.getComputedStyle(document.body).backgroundColor || "#222";
    ctx.fillRect(0, 0, box.width, root.scrollHeight);
    const at = function (r) { return { x: r.left - box.left, y: r.top - box.top }; };
    root.querySelectorAll(".card").forEach(function (card) {
      if (hiddenWithin(card, root)) return;
      const r = card.getBoundingClientRect(), p = at(r);
      const style = window.getComputedStyle(card);
      ctx.fillStyle = style.backgroundColor;
      ctx.fillRect(p.x, p.y, r.width, r.height);
      ctx.strokeStyle = style.borderTopColor;
      ctx.strokeRect(p.x + 0.5, p.y + 0.5, r.width - 1, r.height - 1);
    });
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || !el || el.closest(".js-plotly-plot, script, style, button, .Select-menu-outer") || hiddenWithin(el, root)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      const style = window.getComputedStyle(el), p = at(r);
      ctx.font = style.font || style.fontWeight + " " + style.fontSize + " " + style.fontFamily;
      ctx.fillStyle = style.color;
      ctx.textBaseline = "middle";
      ctx.fillText(text, p.x, p.y + r.height / 2, r.width + 4);
    }
    const graphs = Array.from(root.querySelectorAll(".js-plotly-plot")).filter(function (g) { return !hiddenWithin(g, root); });
    for (const graph of graphs) {
      const r = graph.getBoundingClientRect(), p = at(r);
      const url = await window.Plotly.toImage(graph, { format: "png", width: Math.round(r.width), height: Math.round(r.height) });
      ctx.drawImage(await load(url), p.x, p.y, r.width, r.height);
    }
    return canvas;
  }

  async function download(button) {
    const root = document.getElementById("_pages_content") || document.body;
    button.disabled = true;
    try {
      const canvas = await draw(root);
      const blob = await new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); });
      const a = document.createElement("a");
      const page = window.location.pathname.replace(/\//g, "") || "overview";
      a.download = "logpipeline-" + page + "-" + new Date().toISOString().replace(/[:.]/g, "-") + ".png";
      a.href = URL.createObjectURL(blob);
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 10000);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (target instanceof Element && target.classList.contains("page-png")) download(target);
  });
})();
