// Conveniences of the model card; the card reads the same without them. Allowed by the page's
// Content-Security-Policy through its SHA-256, so no other script (say, from data) can run.
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "") { return { n: parseFloat(v) }; }
    var t = cell.textContent.trim();
    var n = parseFloat(t.replace(/,/g, ""));
    return (/^-?[\d,.]+%?$/.test(t) && !isNaN(n)) ? { n: n } : { s: t.toLowerCase() };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    if (a.n !== undefined) { return -1; }
    if (b.n !== undefined) { return 1; }
    return a.s < b.s ? -1 : (a.s > b.s ? 1 : 0);
  }
  function sortBy(table, th, col) {
    var body = table.tBodies[0];
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var c = compare(key(r1.cells[col]), key(r2.cells[col]));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "Sort by this column";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, th, col); });
    });
  });
  document.querySelectorAll("table.filterable").forEach(function (table) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "filter";
    input.placeholder = "Filter rows…";
    input.setAttribute("aria-label", "Filter the rows of the table below");
    table.parentNode.insertBefore(input, table);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
  document.querySelectorAll("select.picker").forEach(function (select) {
    var panels = document.querySelectorAll("[data-pick='" + select.getAttribute("data-for") + "']");
    function show() {
      panels.forEach(function (p) { p.hidden = select.value !== "*" && p.getAttribute("data-value") !== select.value; });
    }
    // The picker's box (<p class="pick">) is hidden in the page so that a reader without the script sees
    // every panel and no dead control; un-hide the box and the label inside it.
    var box = select.closest(".pick") || select.parentElement;
    box.hidden = false;
    select.parentElement.hidden = false;
    select.addEventListener("change", show);
    show();
  });
  // A printed page cannot be clicked open: every collapsed <details> prints open and closes again after.
  // (The print stylesheet does this through ::details-content, which Chromium before 131 does not know.)
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      d.setAttribute("data-print-opened", "");
      d.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-print-opened]").forEach(function (d) {
      d.removeAttribute("data-print-opened");
      d.open = false;
    });
  });
}());
