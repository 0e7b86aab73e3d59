// dlcourse: accessibility fixes for markup that the book's theme and extensions produce
// (tests/book/test_browser.py runs axe-core on every page).
(function () {
  // The text a sighted reader sees inside an element: skips what is hidden from view
  // (display: none) or from assistive technology (aria-hidden).
  function visibleText(element) {
    var text = "";
    element.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) text += node.textContent + " ";
      else if (node.nodeType === Node.ELEMENT_NODE) {
        if (node.getAttribute("aria-hidden") === "true") return;
        if (window.getComputedStyle(node).display === "none") return;
        text += visibleText(node) + " ";
      }
    });
    return text.replace(/\s+/g, " ").trim();
  }

  function fix() {
    // Font Awesome turns the theme's <i> icons into <svg role="img"> with a <title> ("Light",
    // "Dark", "System Settings" in the colour-mode button, whose aria-label is "Color mode").
    // Inside a control that has an aria-label such icons only decorate it: hide them from
    // assistive technology and drop their titles, which count as the control's visible text
    // and are not part of its label (WCAG 2.5.3).
    document.querySelectorAll("[aria-label] svg, [aria-label] i").forEach(function (icon) {
      if (icon.getAttribute("aria-hidden") !== "true") icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
      icon.removeAttribute("aria-labelledby");
      icon.querySelectorAll("title").forEach(function (title) {
        title.remove();
      });
    });
    // Controls of the theme and of myst-nb (search button, "show code" toggles) carry an
    // aria-label that omits the text they show: the accessible name must contain the visible
    // text (WCAG 2.5.3, label in name), so use the visible text.
    document.querySelectorAll("[aria-label]").forEach(function (element) {
      var visible = visibleText(element);
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

  // Font Awesome replaces icons after the page has loaded, so fix again whenever elements
  // are added (attribute changes, including this script's, do not trigger it).
  var pending = false;
  function fixSoon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      fix();
    });
  }
  function start() {
    fix();
    new MutationObserver(fixSoon).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
