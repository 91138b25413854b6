/* Copy buttons (components/copy_field.html): copy the named field's value to the clipboard and
   say "Copied" in the field's live region. The buttons stay hidden without JavaScript; the value
   can then be selected by hand. Dispatches "copyfield:copied" so the drawer can count a copy of
   the key as the admin's acknowledgement. */
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  async function writeToClipboard(input) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(input.value);
        return true;
      }
    } catch (error) {
      // Blocked (permissions, focus): fall back to selecting the text.
    }
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function announce(status, text) {
    // Clear first so that copying twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 60);
  }

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    const field = button.closest(".copy-field");
    const status = field && field.querySelector("[data-copy-status]");
    const label = button.querySelector("[data-copy-text]");
    const copied = await writeToClipboard(input);
    if (status) {
      status.classList.toggle("copy-field__status--visible", !copied);
      announce(status, copied ? "Copied" : "Press Ctrl+C (⌘C on a Mac) to copy the selected text");
    }
    if (!copied) return;
    button.dataset.copied = "";
    if (label) {
      label.textContent = "Copied";
      window.setTimeout(function () {
        label.textContent = "Copy";
        delete button.dataset.copied;
      }, 2000);
    }
    button.dispatchEvent(
      new CustomEvent("copyfield:copied", { bubbles: true, detail: { input: input } })
    );
  });

  window.copyField = { enhance: enhance };
  enhance(document);
})();
