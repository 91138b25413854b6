/* The drawer (components/drawer.html): opens the drawer pages in a native <dialog> with
   showModal(), submits their forms with fetch, asks before a shown key is thrown away, and puts
   focus back on the button that opened it. Also the confirmation dialogs and the "copy or tick
   the box before Save" gate, which work on the plain pages too. Without JavaScript every drawer
   is an ordinary page. */
(function () {
  "use strict";

  const DRAWER_HEADERS = { "X-Drawer": "1" };

  /* ---- Save stays disabled until the key was copied or the box is ticked ---------------- */

  function updateGate(panel) {
    if (!panel) return;
    const ack = panel.querySelector("[data-key-ack]");
    const ready = !ack || ack.checked;
    panel.querySelectorAll("[data-key-save]").forEach(function (button) {
      button.disabled = !ready;
    });
    panel.querySelectorAll("[data-key-save-hint]").forEach(function (hint) {
      hint.hidden = ready;
    });
  }

  function enhance(root) {
    if (window.copyField) window.copyField.enhance(root);
    root.querySelectorAll("[data-key-guard]").forEach(updateGate);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-key-ack]")) {
      updateGate(event.target.closest("[data-key-guard]"));
    }
  });

  document.addEventListener("copyfield:copied", function (event) {
    const input = event.detail.input;
    if (!input.hasAttribute("data-key-field")) return;
    const panel = input.closest("[data-key-guard]");
    const ack = panel && panel.querySelector("[data-key-ack]");
    if (ack && !ack.checked) {
      ack.checked = true;
      updateGate(panel);
    }
  });

  /* ---- Confirmation dialogs (components/confirm_dialog.html) ---------------------------- */

  document.addEventListener("click", function (event) {
    const cancel = event.target.closest("[data-confirm-cancel]");
    if (cancel) cancel.closest("dialog").close("cancel");
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches("[data-confirm]")) return;
    const confirmation = document.getElementById(form.dataset.confirm);
    if (confirmation && typeof confirmation.showModal === "function") {
      event.preventDefault();
      confirmation.returnValue = "";
      confirmation.showModal();
    }
  });

  enhance(document);

  /* ---- The drawer ----------------------------------------------------------------------- */

  const dialog = document.querySelector("dialog[data-drawer]");
  if (!dialog || typeof dialog.showModal !== "function") return;
  const content = dialog.querySelector("[data-drawer-content]");
  let opener = null;
  let openerId = "";
  let busy = false;
  let closing = false;

  function show(html) {
    content.innerHTML = html;
    enhance(content);
  }

  function focusInside() {
    const target =
      content.querySelector("[aria-invalid='true']") ||
      content.querySelector("[autofocus]") ||
      content.querySelector("button:not([disabled]), [href], input:not([type='hidden']), select, textarea");
    if (target) target.focus();
  }

  function fetchDrawer(url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin", headers: DRAWER_HEADERS }, options));
  }

  async function refreshPage() {
    // Bring the cards (and any messages) up to date without reloading the page.
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok || response.redirected) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const focusedId = document.activeElement && document.activeElement.id;
      document.querySelectorAll("[data-refresh]").forEach(function (region) {
        const replacement = fresh.querySelector('[data-refresh="' + region.dataset.refresh + '"]');
        if (replacement) region.innerHTML = replacement.innerHTML;
      });
      // A refreshed card replaces the button that had focus; give focus to its successor.
      if (focusedId && document.activeElement === document.body) {
        const successor = document.getElementById(focusedId);
        if (successor) successor.focus();
      }
    } catch (error) {
      // The page is merely stale; the next navigation fixes it.
    }
  }

  async function handle(response, fallbackUrl) {
    const closeTo = response.headers.get("X-Drawer-Close");
    if (closeTo !== null) {
      await refreshPage();
      close(closeTo);
      return;
    }
    const isHtml = (response.headers.get("Content-Type") || "").startsWith("text/html");
    if (!response.ok || response.redirected || !isHtml) {
      // Signed out, gone (404) or broken: let the browser show the real page.
      window.location.assign(fallbackUrl);
      return;
    }
    show(await response.text());
    if (!dialog.open) dialog.showModal();
    focusInside();
    if (response.headers.get("X-Drawer-Refresh")) refreshPage();
  }

  async function load(url, fallbackUrl) {
    if (busy) return;
    busy = true;
    try {
      await handle(await fetchDrawer(url), fallbackUrl || url);
    } catch (error) {
      window.location.assign(fallbackUrl || url);
    } finally {
      busy = false;
    }
  }

  async function post(form, submitter) {
    if (busy) return;
    busy = true;
    try {
      const body = new FormData(form, submitter || undefined);
      const response = await fetchDrawer(form.action, { method: "POST", body: body });
      await handle(response, window.location.href);
    } catch (error) {
      window.location.reload();
    } finally {
      busy = false;
    }
  }

  function close(focusId) {
    const wasOpen = dialog.open;
    if (dialog.open) dialog.close();
    // The key must not linger in the page once the drawer is closed.
    content.innerHTML = "";
    let target = focusId ? document.getElementById(focusId) : null;
    if (!target && opener && opener.isConnected) target = opener;
    if (!target && openerId) target = document.getElementById(openerId);
    if (target) target.focus();
    opener = null;
    openerId = "";
    // Cards show last use and errors, which change while the drawer is open.
    if (wasOpen && focusId === undefined) refreshPage();
  }

  function keyAtRisk() {
    const panel = content.querySelector("[data-key-guard]");
    if (!panel) return false;
    // "unsaved": an Add Instance key that Save has not stored; closing throws it away.
    if (panel.dataset.keyGuard === "unsaved") return true;
    // "uncopied": a regenerated key (already live) that was not copied yet.
    const ack = panel.querySelector("[data-key-ack]");
    return !(ack && ack.checked);
  }

  function askToDiscard() {
    const confirmation = content.querySelector("#confirm-discard");
    if (!confirmation) return Promise.resolve(window.confirm("Discard this API key?"));
    return new Promise(function (resolve) {
      confirmation.returnValue = "";
      confirmation.addEventListener(
        "close",
        function () {
          resolve(confirmation.returnValue === "confirm");
        },
        { once: true }
      );
      confirmation.showModal();
    });
  }

  async function requestClose() {
    if (closing || !dialog.open) return;
    closing = true;
    try {
      if (keyAtRisk() && !(await askToDiscard())) return;
      close();
    } finally {
      closing = false;
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented) return;
    if (form.matches("[data-drawer-open]")) {
      event.preventDefault();
      opener = event.submitter || form.querySelector("button");
      openerId = opener ? opener.id : "";
      load(form.action);
      return;
    }
    if (!content.contains(form)) return;
    const method = (form.getAttribute("method") || "get").toLowerCase();
    if (method === "dialog") return;
    event.preventDefault();
    if (method === "post") {
      post(form, event.submitter);
    } else {
      load(form.action);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-drawer-close]") && content.contains(event.target)) {
      event.preventDefault();
      requestClose();
    }
  });

  // Escape: handled here (not by the browser) so an unsaved key can ask first. A confirmation
  // open on top of the drawer handles its own Escape.
  dialog.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.target.closest("dialog") !== dialog) return;
    event.preventDefault();
    requestClose();
  });
  dialog.addEventListener("cancel", function (event) {
    if (event.target !== dialog) return;
    event.preventDefault();
    requestClose();
  });
  dialog.addEventListener("close", function () {
    if (!dialog.open && content.innerHTML) content.innerHTML = "";
  });
})();
