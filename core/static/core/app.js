// Behaviour every staff page shares. Served from static (never inline), so the pages' CSP
// can forbid inline script.
document.addEventListener("DOMContentLoaded", function () {
  // The language picker submits as soon as a language is chosen.
  var language = document.getElementById("language-select");
  if (language) {
    language.addEventListener("change", function () {
      language.form.submit();
    });
  }
});
