// OAuth 2.0 Form Post Response Mode: hand the answer to the application at once. Without
// JavaScript the page shows a Continue button that does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});
