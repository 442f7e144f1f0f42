// The mapping editor's contact picker: a contact found by the search becomes the one the preview
// shows, and stays so until another is picked. Kept out of the template for the CSP.
document.addEventListener("click", function (event) {
  var pick = event.target.closest("[data-preview-pick]");
  if (!pick) {
    return;
  }
  document.getElementById("preview-id").value = pick.dataset.previewPick;
  document.getElementById("preview-matches").innerHTML = "";
  document.getElementById("preview-search").value = "";
  htmx.trigger(document.getElementById("mapping-form"), "change");
});
