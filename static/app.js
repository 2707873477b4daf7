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
      canvas.chart = new window.Chart(canvas, withUnits(chartConfig(spec), spec));
      canvas.setAttribute("data-chart-ready", "true");
    });
  }

  /* ---- usage page: chart units and one request's detail ----
   * spec.unit "count": whole-number ticks; "usd": dollar ticks and tooltips to six decimals.
   * A row of recent activity opens its request's detail (the link in its time cell) when
   * clicked anywhere; focus then moves to the detail, and back to the request when it is closed. */
  function withUnits(config, spec) {
    var axis = config.options.scales[config.options.indexAxis === "y" ? "x" : "y"];
    if (!axis) { return config; }
    if (spec.unit === "count") {
      axis.ticks = { precision: 0 };
    } else if (spec.unit === "usd") {
      axis.ticks = { callback: function (v) { return "$" + Number(v).toLocaleString("en-US", { maximumFractionDigits: 6 }); } };
      config.options.plugins.tooltip = { callbacks: { label: function (item) {
        return item.dataset.label + ": $" + Number(item.raw).toFixed(6);
      } } };
    }
    return config;
  }

  var detailOpener = null;

  function onDetailClose(event) {
    var button = event.target.closest("[data-close-detail]");
    var region = button && document.getElementById("request-detail");
    if (!region) { return; }
    region.innerHTML = "";
    if (detailOpener && document.body.contains(detailOpener)) { detailOpener.focus(); }
  }

  function onActivityRowClick(event) {
    var row = event.target.closest("tr[data-detail-row]");
    if (!row || event.target.closest("a, button, input, select, textarea")) { return; }
    var link = row.querySelector("a[hx-get]");
    if (link) { link.click(); }
  }

  document.addEventListener("click", onActivityRowClick);
  document.addEventListener("click", onDetailClose);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "request-detail") { detailOpener = event.detail.elt; }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "request-detail") {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "nearest" });
    }
  });
  /* ---- end of the usage page's block ---- */

  /* ---- account pages and catalog filters ----
   * Sign-up sends the browser's time zone; the new API key's box takes the focus; the
   * catalog's checkboxes and menus apply at once (typing waits 250 ms) and its URL
   * leaves out the filters that are empty. */
  function fillBrowserTimezone() {
    var input = document.querySelector("input[data-browser-timezone]");
    if (!input || input.value) { return; }
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { /* keep the default */ }
  }

  function focusNewContent() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) { target.focus(); }
  }

  function applyChoiceAtOnce(event) {
    var input = event.target;
    var form = input.form;
    if (!form || form.id !== "filters" || !(input.type === "checkbox" || input.tagName === "SELECT")) { return; }
    event.stopPropagation(); /* no delayed request besides this one */
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", { cancelable: true })); }
  }

  function leaveOutEmptyFilters(event) {
    var detail = event.detail;
    if (!detail || !detail.elt || detail.elt.id !== "filters" || !detail.parameters) { return; }
    var params = detail.parameters;
    var names = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    names.forEach(function (name) {
      var value = typeof params.get === "function" ? params.get(name) : params[name];
      if (value === "" || value === null) {
        if (typeof params.delete === "function") { params.delete(name); } else { delete params[name]; }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { fillBrowserTimezone(); focusNewContent(); });
  document.addEventListener("input", applyChoiceAtOnce, true);
  document.addEventListener("htmx:configRequest", leaveOutEmptyFilters);
  /* ---- end of account pages and catalog filters ---- */

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
  /* ---- end of the narrow-screen block ---- */

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
