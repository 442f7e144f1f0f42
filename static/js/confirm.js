// Asks before a button or link marked data-confirm="Question?" does its work; Cancel stops it.
// Kept out of the templates so the Content-Security-Policy can forbid inline handlers.
document.addEventListener("click", function (event) {
  var trigger = event.target.closest("[data-confirm]");
  if (trigger && !window.confirm(trigger.dataset.confirm)) {
    event.preventDefault();
  }
});
