// dlcourse: accessibility fixes for markup that the book's theme and extensions produce
// (tests/book/test_browser.py runs axe-core on every page).
(function () {
  function fix() {
    // The theme's search buttons are labelled "Search" but show "Search Ctrl+K": the accessible
    // name must contain the visible text (WCAG 2.5.3, label in name).
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      var visible = button.textContent.replace(/\s+/g, " ").trim();
      if (visible) button.setAttribute("aria-label", visible);
    });
    // sphinxcontrib-bibtex marks the bibliography role="list" but not its entries.
    document.querySelectorAll('.citation-list[role="list"] > *').forEach(function (entry) {
      if (!entry.hasAttribute("role")) entry.setAttribute("role", "listitem");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fix);
  else fix();
})();
