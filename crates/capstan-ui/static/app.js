// Capstan UI: actions through the REST API, dialogs, and live updates from the API's
// Server-Sent Events. Loaded as an external script (the pages allow no inline script).
"use strict";

(function () {
  const flashBox = () => document.getElementById("flash");

  function flash(message, isError) {
    const box = flashBox();
    if (!box) return;
    box.textContent = message;
    box.className = isError ? "error" : "ok";
    box.setAttribute("role", isError ? "alert" : "status");
  }

  // Calls the API; resolves with the JSON answer, rejects with an Error carrying the API's message.
  async function api(method, url, body) {
    // X-Requested-With: a header no cross-site form or image can send (a cross-origin fetch with it
    // needs a CORS preflight this server never grants), for a CSRF check beside Origin
    const init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-Requested-With": "capstan-ui" } };
    if (body !== undefined && body !== null && body !== "" && method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new Error("request failed: " + e.message);
    }
    let data = null;
    const text = await response.text();
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
    if (!response.ok) {
      const message = (data && (data.message || data.error)) || response.statusText;
      const err = new Error(response.status + ": " + message);
      err.status = response.status;
      throw err;
    }
    return data;
  }

  function statusClass(status) {
    const cleaned = String(status || "").replace(/[^A-Za-z0-9]/g, "").toLowerCase();
    return "st-" + (cleaned || "unknown");
  }

  function setBadge(root, field, value) {
    root.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) {
      const kind = field === "op" ? "op" : field;
      el.textContent = value || "";
      el.className = "badge " + kind + " " + statusClass(value);
      if (field === "op") el.hidden = !value;
    });
  }

  // --- live refresh of the #live region -------------------------------------------------------
  let refreshTimer = null;
  let refreshing = false;
  let lastRefresh = 0;
  let lastDuration = 0;

  async function refreshLive() {
    if (refreshing) { scheduleRefresh(500); return; }
    refreshing = true;
    const started = Date.now();
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("live");
      const current = document.getElementById("live");
      if (fresh && current) {
        // the graph scrolls in its own box: keep where the user was
        const box = current.querySelector(".graph-scroll");
        const scroll = box ? [box.scrollLeft, box.scrollTop] : null;
        current.innerHTML = fresh.innerHTML;
        const newBox = current.querySelector(".graph-scroll");
        if (scroll && newBox) { newBox.scrollLeft = scroll[0]; newBox.scrollTop = scroll[1]; }
        for (const attr of fresh.getAttributeNames()) current.setAttribute(attr, fresh.getAttribute(attr));
      }
      lastRefresh = Date.now();
      lastDuration = lastRefresh - started;
    } catch (e) {
      // the next event tries again
    } finally {
      refreshing = false;
    }
  }

  // a large page (an application with thousands of resources) is re-read less often: never more
  // than a quarter of the time goes to refreshing
  function scheduleRefresh(delay) {
    if (refreshTimer) return;
    const wait = Math.max(delay, 3 * lastDuration - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(function () { refreshTimer = null; refreshLive(); }, wait);
  }

  function appStatus(app) {
    const status = app.status || {};
    let op = (status.operationState && status.operationState.phase) || "";
    if (app.operation && op !== "Running") op = "Pending";
    return {
      health: (status.health && status.health.status) || "Unknown",
      sync: (status.sync && status.sync.status) || "Unknown",
      op: op,
    };
  }

  function startStream() {
    const url = document.body.dataset.stream;
    const mode = document.body.dataset.live;
    if (!url || !mode || !window.EventSource) return;
    const opened = Date.now();
    const source = new EventSource(url);
    source.onmessage = function (event) {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (mode === "list") {
        // the compact stream: {type, name, health, sync, op} or {type: "RESYNC"}
        if (msg.type === "RESYNC") { scheduleRefresh(500); return; }
        const els = document.querySelectorAll('[data-app="' + CSS.escape(msg.name || "") + '"]');
        els.forEach(function (el) {
          if (msg.type === "DELETED") { el.remove(); return; }
          setBadge(el, "health", msg.health);
          setBadge(el, "sync", msg.sync);
          setBadge(el, "op", msg.op);
          if (el.dataset.health !== undefined) el.dataset.health = msg.health;
        });
        // new or deleted applications off this page: re-read the page; the counts: at most every 5 s
        const membership = msg.type !== "MODIFIED" && els.length === 0;
        if (Date.now() - opened > 1000 && (membership || Date.now() - lastRefresh > 5000)) scheduleRefresh(1000);
        return;
      }
      const result = msg.result || {};
      const app = result.application;
      if (!app || !app.metadata) return;
      if (mode === "app") {
        if (result.type === "DELETED") { flash("The application was deleted.", false); return; }
        const s = appStatus(app);
        setBadge(document, "health", s.health);
        setBadge(document, "sync", s.sync);
        setBadge(document, "op", s.op);
        const terminate = document.getElementById("terminate-button");
        if (terminate && !terminate.dataset.needs) {
          terminate.disabled = s.op !== "Running";
          terminate.title = terminate.disabled ? "No operation is running" : "";
        }
        scheduleRefresh(400);
      }
    };
  }

  // --- actions ---------------------------------------------------------------------------------
  async function runAction(button) {
    const confirmText = button.dataset.confirm;
    if (confirmText && !window.confirm(confirmText)) return;
    const done = button.dataset.done || "";
    button.setAttribute("aria-busy", "true");
    try {
      const data = await api(button.dataset.method, button.dataset.url, button.dataset.body);
      if (done === "reload") { window.location.reload(); return; }
      if (done === "show-connection") {
        const state = data.connectionState || {};
        const row = button.closest("tr");
        const cell = row && row.querySelector('[data-field="connection"]');
        if (cell) cell.textContent = state.status || "Unknown";
        const ok = state.status === "Successful";
        flash("Connection " + (state.status || "Unknown") + (state.message ? ": " + state.message : ""), !ok);
        return;
      }
      if (done === "show-token") { flash("New token (copy it now, it is not shown again): " + (data.token || ""), false); return; }
      flash(done || (button.textContent.trim() + ": done"), false);
      if (document.getElementById("live")) scheduleRefresh(300);
    } catch (e) {
      flash(e.message, true);
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  // "Test connection" of the repository form: Argo CD's validate endpoint, nothing is stored
  async function testConnection(button) {
    const form = button.form;
    if (!form) return;
    let body;
    try { body = formJson(form); } catch (e) { flash(e.message, true); return; }
    if (!body.repo) { flash("Enter the repository URL first.", true); return; }
    button.setAttribute("aria-busy", "true");
    try {
      await api("POST", "/api/v1/repositories/" + encodeURIComponent(body.repo) + "/validate", body);
      flash("Connection successful: " + body.repo, false);
    } catch (e) {
      flash(e.message, true);
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const tester = target.closest("button.test-connection");
    if (tester && !tester.disabled) {
      event.preventDefault();
      testConnection(tester);
      return;
    }
    const opener = target.closest("[data-open]");
    if (opener && !opener.disabled) {
      const dialog = document.getElementById(opener.dataset.open);
      if (dialog && dialog.showModal) dialog.showModal();
      return;
    }
    const button = target.closest("button.action[data-method]");
    if (button && !button.disabled) {
      event.preventDefault();
      runAction(button);
    }
  });

  function syncBody(form) {
    const get = function (n) { const el = form.elements.namedItem(n); return el && el.checked; };
    const body = { prune: !!get("prune"), dryRun: !!get("dryRun") };
    const revision = form.elements.namedItem("revision");
    if (revision && revision.value.trim()) body.revision = revision.value.trim();
    if (get("force")) body.strategy = { apply: { force: true } };
    const items = [];
    ["ApplyOutOfSyncOnly", "CreateNamespace", "ServerSideApply", "Replace"].forEach(function (o) {
      if (get(o)) items.push(o + "=true");
    });
    if (items.length) body.syncOptions = { items: items };
    const resources = [];
    form.querySelectorAll('input[name="resource"]:checked').forEach(function (el) {
      resources.push({ group: el.dataset.group, kind: el.dataset.kind, namespace: el.dataset.namespace, name: el.dataset.name });
    });
    if (resources.length) body.resources = resources;
    return body;
  }

  function formJson(form) {
    const field = form.dataset.jsonField;
    if (field) return JSON.parse(form.elements.namedItem(field).value);
    const body = {};
    new FormData(form).forEach(function (value, key) {
      if (value === "") return;
      body[key] = value === "true" ? true : value;
    });
    return body;
  }

  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const dialog = form.closest("dialog");
    const submitter = event.submitter;
    if (form.classList.contains("sync-form") || form.classList.contains("delete-form")) {
      event.preventDefault();
      if (submitter && submitter.value === "cancel") { dialog.close(); return; }
      try {
        if (form.classList.contains("sync-form")) {
          await api("POST", form.dataset.url, syncBody(form));
          dialog.close();
          flash("Sync requested", false);
          scheduleRefresh(300);
        } else {
          const typed = form.elements.namedItem("confirm").value.trim();
          if (typed !== form.dataset.name) { flash("Type the application's name to confirm the deletion.", true); return; }
          const cascade = form.elements.namedItem("cascade").checked;
          const policy = form.elements.namedItem("propagationPolicy").value;
          await api("DELETE", form.dataset.url + "?cascade=" + cascade + "&propagationPolicy=" + encodeURIComponent(policy));
          dialog.close();
          window.location.assign("/applications");
        }
      } catch (e) {
        dialog.close();
        flash(e.message, true);
      }
      return;
    }
    if (form.classList.contains("api-form")) {
      event.preventDefault();
      let body;
      try { body = formJson(form); } catch (e) { flash("Invalid JSON: " + e.message, true); return; }
      try {
        await api(form.dataset.method, form.dataset.url, body);
        const done = form.dataset.done || "Saved";
        if (done === "reload") { window.location.reload(); return; }
        flash(done, false);
        form.reset();
      } catch (e) {
        flash(e.message, true);
      }
    }
  });

  // filters apply as soon as a box is ticked
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.type === "checkbox" && target.form && target.form.id === "filters") {
      target.form.submit();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startStream);
  } else {
    startStream();
  }
})();
