// okwallet's only script: progressive enhancement. Every page works without it.

// Forms that do something drastic ask once more before they post.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
