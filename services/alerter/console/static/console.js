// Stormwatch incident console: vanilla JS over the bearer-token /api/v1 API.
// Everything that comes from the API is untrusted (review text, titles, URLs): it is only ever placed with
// textContent / setAttribute on elements built with createElement, never parsed as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "stormwatch.console.token";
  const POLL_MS = 3000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FINAL = "resolved";
  // Evidence by incident id and version. The API returns every version's evidence; this also keeps what the tab
  // saw when talking to an older alerter whose history lists versions without their evidence.
  const seenEvidence = new Map();
  let timer = null;
  let busy = false;
  let lastIncident = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function badge(value) {
    return el("span", { class: "badge " + String(value || "") }, String(value || "-"));
  }

  function when(value) {
    if (!value) return "-";
    const date = new Date(value);
    return isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function safeUrl(value) {
    // Only web links: a javascript: or data: URL in a review's link must not become clickable.
    try {
      const url = new URL(String(value));
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (_error) {
      return null;
    }
  }

  // ---- API ---------------------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(path, options) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) throw new Unauthorized("no token");
    const init = Object.assign({ headers: {} }, options || {});
    init.headers = Object.assign({ Authorization: "Bearer " + token, Accept: "application/json" }, init.headers);
    if (init.json !== undefined) {
      init.body = JSON.stringify(init.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    const response = await fetch(path, init);
    if (response.status === 401) throw new Unauthorized("token refused");
    const body = await response.json().catch(() => ({}));
    return { status: response.status, body: body };
  }

  // ---- views -------------------------------------------------------------------------------------------

  function show(view) {
    for (const id of ["login-view", "list-view", "incident-view"]) $(id).hidden = id !== view;
    const signedIn = view !== "login-view";
    $("logout").hidden = !signedIn;
    $("live").hidden = !signedIn;
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    show("login-view");
    $("login-error").textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }

  function route() {
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      signOut("");
      return;
    }
    const match = /^#\/incidents\/([0-9a-f]{32})$/.exec(location.hash);
    if (match) show("incident-view");
    else show("list-view");
    refresh();
    startPolling();
  }

  function startPolling() {
    stopPolling();
    timer = setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const match = /^#\/incidents\/([0-9a-f]{32})$/.exec(location.hash);
      if (match) await loadIncident(match[1]);
      else await loadList();
      $("live").textContent = "live \u00b7 updated " + new Date().toLocaleTimeString();
    } catch (error) {
      if (error instanceof Unauthorized) signOut("The token was refused. Sign in again.");
      else $("live").textContent = "connection problem, retrying\u2026";
    } finally {
      busy = false;
    }
  }

  // ---- list --------------------------------------------------------------------------------------------

  async function loadList() {
    const params = new URLSearchParams({ limit: "200" });
    for (const name of ["merchant", "kind", "state"]) {
      const value = $("f-" + name).value.trim();
      if (value) params.set(name, value);
    }
    const { status, body } = await api("/api/v1/incidents?" + params.toString());
    if (status !== 200) throw new Error("list failed: " + status);
    // The API has no platform filter: narrow the page client-side.
    const platform = $("f-platform").value.trim().toLowerCase();
    const incidents = (body.incidents || []).filter((i) => !platform || String(i.platform || "").toLowerCase() === platform);
    const open = incidents.filter((i) => i.status !== FINAL && i.response_state !== FINAL);
    const recent = incidents.filter((i) => !(i.status !== FINAL && i.response_state !== FINAL));
    fillTable("open", open);
    fillTable("recent", recent);
  }

  function fillTable(name, incidents) {
    const tbody = $(name + "-table").querySelector("tbody");
    const rows = incidents.map((incident) => {
      const href = "#/incidents/" + incident.incident_id;
      const row = el(
        "tr",
        { "data-incident-id": incident.incident_id },
        el("td", {}, badge(incident.severity)),
        el("td", {}, el("a", { href: href, class: "incident-link" }, incident.title || incident.incident_id)),
        el("td", {}, incident.merchant_id || "-"),
        el("td", {}, incident.platform || "all"),
        el("td", {}, incident.kind || "-"),
        el("td", {}, incident.status || "-"),
        el("td", {}, badge(incident.response_state)),
        el("td", {}, when(incident.started_at)),
      );
      row.addEventListener("click", () => { location.hash = href; });
      return row;
    });
    tbody.replaceChildren(...rows);
    $(name + "-table").hidden = rows.length === 0;
    $(name + "-empty").hidden = rows.length !== 0;
  }

  // ---- incident ----------------------------------------------------------------------------------------

  async function loadIncident(id) {
    const { status, body } = await api("/api/v1/incidents/" + id);
    if (status === 404) {
      $("i-title").textContent = "No such incident";
      return;
    }
    if (status !== 200) throw new Error("incident failed: " + status);
    renderIncident(body);
  }

  function evidenceSeries(detail) {
    const incident = detail.incident;
    const known = seenEvidence.get(incident.incident_id) || new Map();
    seenEvidence.set(incident.incident_id, known);
    // A state's moment: when the review behind it was observed (stream time), else when the alerter received it.
    for (const state of detail.states || []) {
      if (state.evidence) known.set(state.version, { evidence: state.evidence, at: state.observed_at || state.received_at });
    }
    if (incident.evidence) {
      const state = (detail.states || []).find((s) => s.version === incident.version);
      const at = incident.observed_at || (state ? state.received_at : incident.updated_at);
      known.set(incident.version, { evidence: incident.evidence, at: at });
    }
    return [...known.entries()].sort((a, b) => a[0] - b[0]).map(([version, item]) => ({
      version: version,
      at: item.at,
      observed: Number(item.evidence.observed) || 0,
      expected: Number(item.evidence.expected) || 0,
      predicted: item.evidence.predicted_reach === null || item.evidence.predicted_reach === undefined ? null : Number(item.evidence.predicted_reach),
    }));
  }

  function renderIncident(detail) {
    const incident = detail.incident;
    lastIncident = incident;
    const evidence = incident.evidence || {};
    $("i-title").textContent = incident.title || incident.incident_id;
    $("i-summary").textContent = incident.summary || "";
    const meta = [
      ["Severity", badge(incident.severity)],
      ["Response", badge(incident.response_state)],
      ["Status", incident.status],
      ["Kind", incident.kind],
      ["Merchant", incident.merchant_id],
      ["Platform", incident.platform || "all"],
      ["Category", incident.category || "-"],
      ["Version", String(incident.version)],
      ["Started", when(incident.started_at)],
      ["Detected", when(incident.detected_at)],
      ["Rate", (Number(evidence.rate_per_hour) || 0).toFixed(1) + " / h"],
      ["Window", Math.round((Number(evidence.window_seconds) || 0) / 60) + " min"],
    ];
    $("i-meta").replaceChildren(...meta.map(([label, value]) => el("div", {}, el("dt", {}, label), el("dd", {}, value || "-"))));
    $("ack").disabled = incident.response_state !== "triggered";
    $("resolve").disabled = incident.response_state === FINAL;

    const series = evidenceSeries(detail);
    $("evidence-chart").replaceChildren(evidenceChart(series));
    $("growth-chart").replaceChildren(growthChart(incident, series));
    renderSamples(evidence);
    $("playbook").replaceChildren(...(incident.playbook || []).map((step) => el("li", {}, String(step))));
    if (!(incident.playbook || []).length) $("playbook").replaceChildren(el("li", { class: "muted" }, "No playbook for this category."));
    renderTimeline(detail);
  }

  function renderSamples(evidence) {
    const languages = Object.entries(evidence.languages || {}).sort((a, b) => b[1] - a[1]);
    $("languages").textContent = languages.length ? "Languages: " + languages.map(([lang, n]) => lang + " " + n).join(", ") : "";
    const items = (evidence.sample_items || []).map((sample) => {
      const url = safeUrl(sample.url);
      const metaLine = el(
        "div",
        { class: "sample-meta" },
        el("span", { class: "sample-platform" }, sample.platform || "-"),
        el("span", { class: "sample-language" }, "language: " + (sample.language || "unknown")),
        sample.rating === null || sample.rating === undefined ? null : el("span", {}, "rating: " + sample.rating),
        url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", class: "sample-link" }, "open on " + (sample.platform || "platform")) : null,
      );
      const text = el("p", { class: "sample-text" });
      text.textContent = sample.text || "(no text)";
      return el("li", { class: "sample" }, metaLine, text);
    });
    $("samples").replaceChildren(...items);
    if (!items.length) $("samples").replaceChildren(el("li", { class: "muted" }, "No sample reviews."));
  }

  function renderTimeline(detail) {
    const incident = detail.incident;
    const events = [];
    for (const state of detail.states || []) {
      events.push({ at: state.received_at, what: "incident " + state.status, version: state.version, receiver: "", outcome: "", detail: "" });
    }
    for (const n of detail.notifications || []) {
      const detailText = [n.attempts ? n.attempts + " attempt(s)" : "", n.last_reason || "", n.latency_seconds !== null && n.latency_seconds !== undefined ? "latency " + Number(n.latency_seconds).toFixed(1) + " s" : ""].filter(Boolean).join(" \u00b7 ");
      events.push({ at: n.delivered_at || n.created_at, what: "notification", version: n.version, receiver: n.receiver, outcome: n.status, detail: detailText });
    }
    if (incident.acknowledged_at) events.push({ at: incident.acknowledged_at, what: "acknowledged", version: "", receiver: "", outcome: "", detail: "by " + (incident.acknowledged_by || "?") });
    if (incident.resolved_by) events.push({ at: incident.resolved_at || incident.updated_at, what: "resolved by responder", version: "", receiver: "", outcome: "", detail: "by " + incident.resolved_by });
    events.sort((a, b) => String(a.at).localeCompare(String(b.at)));
    $("timeline").querySelector("tbody").replaceChildren(...events.map((e) => el(
      "tr", {},
      el("td", {}, when(e.at)), el("td", {}, e.what), el("td", {}, String(e.version)), el("td", {}, e.receiver),
      el("td", {}, e.outcome ? badge(e.outcome) : ""), el("td", { class: "detail" }, e.detail),
    )));
  }

  // ---- charts (inline SVG) -----------------------------------------------------------------------------

  const W = 520, H = 230, L = 44, R = 14, T = 14, B = 34;

  function frame(maxY, labels) {
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    const ticks = 4;
    for (let i = 0; i <= ticks; i++) {
      const value = (maxY * i) / ticks;
      const y = T + (H - T - B) * (1 - i / ticks);
      root.append(svg("line", { class: "grid-line", x1: L, x2: W - R, y1: y, y2: y }));
      root.append(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, value >= 10 ? Math.round(value) : value.toFixed(1)));
    }
    root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    labels.forEach((label, i) => {
      if (!label) return;
      // The outermost labels hang inwards so a long one ("predicted") is not cut at the edge.
      const anchor = labels.length < 2 ? "middle" : i === 0 ? "start" : i === labels.length - 1 ? "end" : "middle";
      root.append(svg("text", { x: xAt(i, labels.length), y: H - B + 16, "text-anchor": anchor }, label));
    });
    return root;
  }

  function clock(value) {
    const date = new Date(value);
    return isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // Axis label of a version: its number and time of day; with many versions only every k-th is labelled.
  function versionLabels(series) {
    const every = Math.max(1, Math.ceil(series.length / 6));
    const last = series.length - 1;
    // The last version is always labelled; a thinned label too close before it is dropped so the two do not overlap.
    const shown = (i) => i === last || (i % every === 0 && last - i >= every);
    return series.map((p, i) => (shown(i) ? ("v" + p.version + " " + clock(p.at)).trim() : ""));
  }

  function xAt(i, n) {
    return n <= 1 ? (L + W - R) / 2 : L + ((W - R - L) * i) / (n - 1);
  }

  function yAt(value, maxY) {
    return T + (H - T - B) * (1 - value / maxY);
  }

  function empty(message) {
    const root = svg("svg", { viewBox: "0 0 " + W + " 80", role: "img" });
    root.append(svg("text", { x: W / 2, y: 44, "text-anchor": "middle" }, message));
    return root;
  }

  function evidenceChart(series) {
    if (!series.length) return empty("No evidence yet.");
    // Expected band: expected ± 2 sqrt(expected), about 95 % of Poisson counts when nothing is wrong.
    const band = series.map((p) => [Math.max(0, p.expected - 2 * Math.sqrt(p.expected)), p.expected + 2 * Math.sqrt(p.expected)]);
    const maxY = Math.max(1, ...series.map((p) => p.observed), ...band.map((b) => b[1])) * 1.15;
    const root = frame(maxY, versionLabels(series));
    root.setAttribute("aria-label", "observed against expected");
    root.setAttribute("data-versions", String(series.length));
    root.classList.add("evidence-svg");
    const n = series.length;
    const halfWidth = n === 1 ? 60 : 0;
    const upper = band.map((b, i) => (xAt(i, n) + (i === n - 1 ? halfWidth : -halfWidth)) + "," + yAt(b[1], maxY));
    const lower = band.map((b, i) => (xAt(i, n) + (i === n - 1 ? halfWidth : -halfWidth)) + "," + yAt(b[0], maxY));
    if (n === 1) {
      upper.unshift((xAt(0, 1) - halfWidth) + "," + yAt(band[0][1], maxY));
      lower.unshift((xAt(0, 1) - halfWidth) + "," + yAt(band[0][0], maxY));
    }
    root.append(svg("polygon", { class: "band", points: upper.concat(lower.reverse()).join(" ") }));
    const line = (key) => series.map((p, i) => xAt(i, n) + "," + yAt(p[key], maxY)).join(" ");
    if (n === 1) {
      root.append(svg("line", { class: "expected", x1: xAt(0, 1) - halfWidth, x2: xAt(0, 1) + halfWidth, y1: yAt(series[0].expected, maxY), y2: yAt(series[0].expected, maxY) }));
    } else {
      root.append(svg("polyline", { class: "expected", points: line("expected") }));
      root.append(svg("polyline", { class: "observed", points: line("observed") }));
    }
    series.forEach((p, i) => {
      root.append(svg("circle", { class: "dot observed-dot", cx: xAt(i, n), cy: yAt(p.observed, maxY), r: 4 }));
      // The last value's label hangs left, so it is not cut at the chart's right edge.
      const last = n > 1 && i === n - 1;
      root.append(svg("text", { x: xAt(i, n) + (last ? -6 : 6), y: yAt(p.observed, maxY) - 6, "text-anchor": last ? "end" : "start" }, String(Math.round(p.observed * 10) / 10)));
    });
    legend(root, [["observed", "observed"], ["expected", "expected"], ["band", "expected band (\u00b12\u221a)"]]);
    return root;
  }

  function growthChart(incident, series) {
    const predicted = series.length ? series[series.length - 1].predicted : null;
    if (!incident.thread_id && predicted === null) return empty("Not a thread: no growth curve for this incident kind.");
    const values = series.map((p) => p.observed);
    const maxY = Math.max(1, ...values, predicted || 0) * 1.15;
    const labels = versionLabels(series);
    if (predicted !== null) labels.push("predicted");
    const root = frame(maxY, labels);
    root.setAttribute("aria-label", "thread growth");
    root.setAttribute("data-versions", String(series.length));
    root.classList.add("growth-svg");
    const n = labels.length;
    root.append(svg("polyline", { class: "observed", points: series.map((p, i) => xAt(i, n) + "," + yAt(p.observed, maxY)).join(" ") }));
    series.forEach((p, i) => root.append(svg("circle", { class: "dot reach-dot", cx: xAt(i, n), cy: yAt(p.observed, maxY), r: 4 })));
    if (predicted !== null && series.length) {
      const last = series.length - 1;
      root.append(svg("line", { class: "predicted", x1: xAt(last, n), y1: yAt(series[last].observed, maxY), x2: xAt(n - 1, n), y2: yAt(predicted, maxY) }));
      root.append(svg("circle", { class: "predicted-dot", cx: xAt(n - 1, n), cy: yAt(predicted, maxY), r: 5 }));
      root.append(svg("text", { x: xAt(n - 1, n) - 6, y: yAt(predicted, maxY) - 8, "text-anchor": "end" }, "reach " + Math.round(predicted)));
    }
    legend(root, [["observed", "observed"], ["predicted", "predicted reach"]]);
    return root;
  }

  function legend(root, items) {
    items.forEach(([cls, label], i) => {
      const x = L + 8 + i * 130;
      if (cls === "band") root.append(svg("rect", { class: "band", x: x, y: T - 2, width: 18, height: 8 }));
      else root.append(svg("line", { class: cls, x1: x, x2: x + 18, y1: T + 2, y2: T + 2 }));
      root.append(svg("text", { x: x + 22, y: T + 6 }, label));
    });
  }

  // ---- actions -----------------------------------------------------------------------------------------

  async function act(kind) {
    if (!lastIncident) return;
    const id = lastIncident.incident_id;
    const message = $("action-message");
    try {
      let result;
      if (kind === "silence") {
        const matchers = { merchant: lastIncident.merchant_id, kind: lastIncident.kind };
        if (lastIncident.platform) matchers.platform = lastIncident.platform;
        result = await api("/api/v1/silences", { method: "POST", json: { matchers: matchers, owner: "console", reason: "silenced from the incident console", duration_seconds: 3600 } });
      } else {
        result = await api("/api/v1/incidents/" + id + "/" + kind, { method: "POST", json: { by: "console" } });
      }
      if (result.status >= 200 && result.status < 300) {
        message.textContent = kind === "ack" ? "Acknowledged." : kind === "resolve" ? "Resolved." : "Silenced for 1 hour (new pages for this merchant and kind are held).";
      } else {
        message.textContent = "Not done: " + String((result.body && result.body.detail) || result.status);
      }
      await refresh();
    } catch (error) {
      if (error instanceof Unauthorized) signOut("The token was refused. Sign in again.");
      else message.textContent = "Request failed: " + String(error && error.message);
    }
  }

  // ---- start -------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      try {
        const { status } = await api("/api/v1/incidents?limit=1");
        if (status !== 200) throw new Error("status " + status);
        $("login-error").textContent = "";
        route();
      } catch (error) {
        signOut(error instanceof Unauthorized ? "The token was refused." : "Could not reach the API.");
      }
    });
    $("logout").addEventListener("click", () => signOut(""));
    $("filters").addEventListener("input", () => refresh());
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("ack").addEventListener("click", () => act("ack"));
    $("resolve").addEventListener("click", () => act("resolve"));
    $("silence").addEventListener("click", () => act("silence"));
    window.addEventListener("hashchange", () => {
      $("action-message").textContent = "";
      route();
    });
    route();
  });
})();
