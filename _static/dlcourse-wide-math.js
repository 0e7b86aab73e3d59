// dlcourse: an inline formula wider than its line (a long formula on a phone) scrolls
// sideways inside itself instead of being cut off by the theme (see dlcourse.css, class
// dlcourse-wide-math; tests/book/test_browser.py checks pages at 400 px).
(function () {
  function mark() {
    document.querySelectorAll("main span.math").forEach(function (span) {
      var formula = span.querySelector("mjx-container");
      if (!formula) return;
      var wide = formula.getBoundingClientRect().width > span.getBoundingClientRect().width + 1;
      span.classList.toggle("dlcourse-wide-math", wide);
    });
  }
  var pending = false;
  function markSoon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      mark();
    });
  }
  window.addEventListener("load", function () {
    // MathJax (loaded with `defer`) typesets after the page has loaded; measure after it.
    var startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) startup.promise.then(mark);
    else mark();
    window.addEventListener("resize", markSoon);
  });
})();
