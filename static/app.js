/* Lumyx pages: copy buttons and usage charts. Every script of the site lives in
 * static files (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("live-region");
    if (region) { region.textContent = ""; window.setTimeout(function () { region.textContent = text; }, 50); }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy") ? resolve() : reject(new Error("copy refused")); }
      catch (err) { reject(err); }
      finally { document.body.removeChild(area); }
    });
  }

  function onCopyClick(event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    copyText(source.textContent).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      announce("Copied to the clipboard");
      window.setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 2000);
    }, function () {
      button.textContent = "Press Ctrl+C";
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    });
  }

  /* ---- charts: <canvas data-chart='{"type", "labels", "datasets": [{label, data}], "money"}'> ---- */
  var PALETTE = ["#3341c6", "#0f8a5f", "#c2410c", "#7c3aed", "#0369a1", "#b91c1c", "#4d7c0f", "#a16207"];

  function chartConfig(spec) {
    var horizontal = spec.type === "hbar";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: set.label, data: set.data, yAxisID: set.axis || (horizontal ? undefined : "y"),
        borderColor: colour, backgroundColor: spec.type === "line" ? colour + "22" : colour,
        fill: spec.type === "line", tension: 0.25, pointRadius: 2, borderWidth: 2
      };
    });
    var scales = {};
    if (horizontal) {
      scales = { x: { beginAtZero: true }, y: { ticks: { autoSkip: false } } };
    } else {
      scales = { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { beginAtZero: true, position: "left" } };
      if (spec.datasets.some(function (s) { return s.axis === "y2"; })) {
        scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
      }
    }
    return {
      type: horizontal ? "bar" : spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: spec.datasets.length > 1, position: "bottom" } },
        scales: scales
      }
    };
  }

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") { return; }
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var existing = window.Chart.getChart(canvas);
      if (existing) { existing.destroy(); }
      var spec;
      try { spec = JSON.parse(canvas.getAttribute("data-chart")); } catch (err) { return; }
      canvas.chart = new window.Chart(canvas, chartConfig(spec));
      canvas.setAttribute("data-chart-ready", "true");
    });
  }

  /* ---- narrow screens: folding sections and tables read as cards ----
   * A [data-collapsible] element holds a .collapsible-toggle button (aria-expanded, aria-controls) and the part
   * it folds; the stylesheet folds it only on narrow screens. Escape closes an open one and gives
   * the focus back to its button. */
  function readyCollapsibles() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-collapsible]"), function (box) {
      box.classList.add("collapsible-ready");
    });
  }

  function setOpen(box, open) {
    var button = box.querySelector(".collapsible-toggle");
    box.classList.toggle("is-open", open);
    if (button) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
  }

  function onToggleClick(event) {
    var button = event.target.closest(".collapsible-toggle");
    if (!button) { return; }
    var box = button.closest("[data-collapsible]");
    if (box) { setOpen(box, !box.classList.contains("is-open")); }
  }

  function onEscape(event) {
    if (event.key !== "Escape") { return; }
    var box = event.target.closest && event.target.closest("[data-collapsible].is-open");
    if (!box) { return; }
    setOpen(box, false);
    var button = box.querySelector(".collapsible-toggle");
    if (button && window.getComputedStyle(button).display !== "none") { button.focus(); }
  }

  /* Each cell of a table.as-cards gets its column's name in data-label (empty for a column
   * whose name is only for screen readers), which the narrow-screen cards show above the value. */
  function labelCards(root) {
    var tables = (root || document).querySelectorAll("table.as-cards");
    Array.prototype.forEach.call(tables, function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.querySelector(".visually-hidden") ? "" : th.textContent.trim();
      });
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          cell.setAttribute("data-label", names[i] || "");
        });
      });
      table.classList.add("labelled");
    });
  }

  /* A table that is wider than its box scrolls inside it; keyboard users reach it with Tab. */
  function focusableScrollers() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap, .docs-body > table"), function (box) {
      if (box.hasAttribute("data-scroll-focus") || !box.hasAttribute("tabindex")) {
        var wide = box.scrollWidth > box.clientWidth + 1;
        box.toggleAttribute("data-scroll-focus", wide);
        if (wide) { box.setAttribute("tabindex", "0"); } else { box.removeAttribute("tabindex"); }
      }
    });
  }

  readyCollapsibles();
  document.addEventListener("click", onToggleClick);
  document.addEventListener("keydown", onEscape);
  document.addEventListener("click", onCopyClick);
  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    labelCards(document);
    focusableScrollers();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
    labelCards(document);
    focusableScrollers();
  });
  window.addEventListener("resize", focusableScrollers);
  /* Keep focus sensible for keyboard users after a swap that replaced the focused element. */
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "results" && document.activeElement === document.body) {
      target.focus({ preventScroll: true });
    }
  });
}());
