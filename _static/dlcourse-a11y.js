// dlcourse: accessibility fixes for markup that the book's theme and extensions produce
// (tests/book/test_browser.py runs axe-core on every page).
(function () {
  function fix() {
    // Controls of the theme and of myst-nb (search and theme buttons, previous/next links, the
    // "show code" toggles) carry an aria-label that omits the text they show: the accessible
    // name must contain the visible text (WCAG 2.5.3, label in name), so use the visible text.
    document.querySelectorAll("[aria-label]").forEach(function (element) {
      var visible = element.textContent.replace(/\s+/g, " ").trim();
      var label = element.getAttribute("aria-label");
      if (visible && label.toLowerCase().indexOf(visible.toLowerCase()) === -1) {
        element.setAttribute("aria-label", visible);
      }
    });
    // sphinxcontrib-bibtex marks the bibliography role="list" although its entries are
    // doc-biblioentry elements, not list items: drop the list role.
    document.querySelectorAll('.citation-list[role="list"]').forEach(function (list) {
      list.removeAttribute("role");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fix);
  else fix();
})();
