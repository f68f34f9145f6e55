"use strict";
// Plays the EHR. Opening a chart calls patient-view; choosing an order from the catalogue adds a draft
// order and calls order-select; signing calls order-sign with every draft. Cards are shown as an EHR
// shows them; accepting a suggestion applies its actions to the draft orders (create, update, delete)
// and sends accepted feedback; dismissing sends overridden feedback, with the reason chosen.

const $ = (id) => document.getElementById(id);
let services = {}; // hook -> service from discovery
let patient = null; // the chart open
let drafts = []; // the draft orders: { resource, fromCds }

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// A small, safe subset of GitHub-flavoured Markdown: paragraphs, "- " lists, **bold**, [text](https://...).
function markdown(text) {
  const inline = (s) => escapeHtml(s)
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/\[([^\]]+)\]\((https:\/\/[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
  const html = [];
  let list = null;
  let para = [];
  const flush = () => {
    if (para.length) { html.push("<p>" + inline(para.join(" ")) + "</p>"); para = []; }
    if (list) { html.push("<ul>" + list.map((i) => "<li>" + inline(i) + "</li>").join("") + "</ul>"); list = null; }
  };
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (/^- /.test(line)) { if (para.length) flush(); list = list || []; list.push(line.slice(2)); }
    else if (/^\s+\S/.test(line) && list) { list[list.length - 1] += " " + line.trim(); }
    else if (line === "") { flush(); }
    else { if (list) flush(); para.push(line); }
  }
  flush();
  return html.join("");
}

async function getJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

const postJson = (url, body) => getJson(url, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

function conceptLabel(value) {
  if (!value) return "";
  if (value.text) return value.text;
  const coding = (value.coding || []).find((c) => c.display);
  return coding ? coding.display : "";
}

function orderLabel(resource) {
  const what = conceptLabel(resource.medicationCodeableConcept) || conceptLabel(resource.code)
    || (resource.medicationReference && resource.medicationReference.display) || resource.resourceType;
  return `${what} (${resource.resourceType === "MedicationRequest" ? "medication" : resource.resourceType}, ${resource.status || "draft"})`;
}

const refOf = (resource) => `${resource.resourceType}/${resource.id}`;

// ---- the chart -------------------------------------------------------------------------------

function renderBanner(info) {
  const list = (items, empty) => items.length
    ? "<ul>" + items.map((i) => `<li>${escapeHtml(i)}</li>`).join("") + "</ul>" : `<span class="muted">${empty}</span>`;
  const age = info.age === null ? "" : `${info.age} y`;
  $("banner").innerHTML = `
    <div><div class="who" id="banner-name">${escapeHtml(info.name)}</div>
      <div>${escapeHtml(info.sex)}${age ? ", " + age : ""}${info.birthDate ? " — born " + escapeHtml(info.birthDate) : ""}</div>
      ${info.deceased ? '<div class="deceased">Deceased</div>' : ""}</div>
    <div><h4>Problems</h4>${list(info.problems, "none recorded")}</div>
    <div><h4>Current medications</h4>${list(info.medications, "none")}</div>
    <div><h4>Key results</h4>${list(info.results, "none")}</div>`;
}

function renderDrafts() {
  const el = $("drafts");
  el.innerHTML = "";
  if (!drafts.length) el.innerHTML = '<li class="muted">No draft orders.</li>';
  for (const draft of drafts) {
    const li = document.createElement("li");
    li.dataset.ref = refOf(draft.resource);
    if (draft.fromCds) li.className = "from-cds";
    li.innerHTML = `<span>${escapeHtml(orderLabel(draft.resource))}${draft.fromCds ? ' <span class="tag">from CDS</span>' : ""}</span>`;
    const remove = document.createElement("button");
    remove.className = "secondary";
    remove.textContent = "×";
    remove.title = "Remove this draft order";
    remove.setAttribute("aria-label", `Remove ${orderLabel(draft.resource)}`);
    remove.onclick = () => { drafts = drafts.filter((d) => d !== draft); renderDrafts(); };
    li.appendChild(remove);
    el.appendChild(li);
  }
  $("sign").disabled = !drafts.length;
}

// ---- cards -----------------------------------------------------------------------------------

async function sendFeedback(service, item) {
  const body = { feedback: [{ ...item, outcomeTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") }] };
  $("feedback").textContent = JSON.stringify(body, null, 2);
  return postJson(`/cds-services/${service.id}/feedback`, body);
}

// An accepted suggestion's actions, applied to the draft orders as an EHR applies them.
function applyActions(actions) {
  const done = [];
  for (const action of actions || []) {
    if (action.type === "create" && action.resource) {
      // the EHR gives the new order its id, as it does to any order it stores
      const resource = { ...action.resource, id: action.resource.id || `cds-${Math.random().toString(36).slice(2, 10)}` };
      drafts.push({ resource, fromCds: true });
      done.push(`added ${orderLabel(resource)}`);
    } else if (action.type === "update" && action.resource) {
      const index = drafts.findIndex((d) => refOf(d.resource) === refOf(action.resource));
      if (index >= 0) { drafts[index] = { resource: action.resource, fromCds: true }; done.push(`updated ${orderLabel(action.resource)}`); }
    } else if (action.type === "delete") {
      const target = action.resourceId || (action.resource && refOf(action.resource));
      const before = drafts.length;
      drafts = drafts.filter((d) => refOf(d.resource) !== target && d.resource.id !== target);
      if (drafts.length < before) done.push(`removed ${target}`);
    }
  }
  renderDrafts();
  return done;
}

function renderCard(service, card) {
  const el = document.createElement("article");
  el.className = `card ${card.indicator}`;
  el.dataset.uuid = card.uuid || "";
  const source = card.source.url
    ? `<a href="${escapeHtml(card.source.url)}" target="_blank" rel="noopener">${escapeHtml(card.source.label)}</a>`
    : escapeHtml(card.source.label);
  el.innerHTML = `<div class="indicator">${escapeHtml(card.indicator)}</div>
    <h3>${escapeHtml(card.summary)}</h3>
    <div class="detail">${markdown(card.detail || "")}</div>
    <div class="source">Source: ${source}</div>`;
  if ((card.links || []).length) {
    const links = document.createElement("div");
    links.className = "links";
    for (const link of card.links) {
      const a = document.createElement("a");
      a.href = link.url; a.target = "_blank"; a.rel = "noopener"; a.textContent = link.label;
      links.appendChild(a);
    }
    el.appendChild(links);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const settle = (html) => { actions.innerHTML = `<span class="done">${html}</span>`; };
  for (const suggestion of card.suggestions || []) {
    const button = document.createElement("button");
    button.className = "accept" + (suggestion.isRecommended ? " recommended" : "");
    button.textContent = suggestion.label;
    button.title = (suggestion.actions || []).map((a) => a.description).join("; ");
    button.onclick = async () => {
      const applied = applyActions(suggestion.actions);
      const result = await sendFeedback(service, {
        card: card.uuid, outcome: "accepted", acceptedSuggestions: [{ id: suggestion.uuid }],
      });
      settle(`Accepted: ${escapeHtml(suggestion.label)}${applied.length ? " — " + escapeHtml(applied.join("; ")) : ""}
        <span class="muted">(feedback ${result.status})</span>`);
    };
    actions.appendChild(button);
  }
  const reasons = document.createElement("select");
  reasons.className = "override-reason";
  reasons.setAttribute("aria-label", "Reason for dismissing");
  reasons.innerHTML = '<option value="">Dismiss without a reason</option>' +
    (card.overrideReasons || []).map((r, i) => `<option value="${i}">${escapeHtml(r.display)}</option>`).join("");
  const dismiss = document.createElement("button");
  dismiss.className = "secondary dismiss";
  dismiss.textContent = "Dismiss";
  dismiss.onclick = async () => {
    const item = { card: card.uuid, outcome: "overridden" };
    const reason = reasons.value !== "" ? card.overrideReasons[Number(reasons.value)] : null;
    if (reason) item.overrideReason = { reason };
    const result = await sendFeedback(service, item);
    settle(`Dismissed${reason ? ": " + escapeHtml(reason.display) : ""} <span class="muted">(feedback ${result.status})</span>`);
  };
  actions.append(reasons, dismiss);
  el.appendChild(actions);
  return el;
}

function renderExplanation(explanation) {
  const el = $("explanation");
  const rows = explanation.rules.map((r) => {
    const why = r.status === "fired" ? `${r.cards} card(s)`
      : r.status === "shadow" ? `${r.cards} card(s) recorded in the ledger, not shown (shadow rule)`
      : r.status === "skipped" ? `data unavailable: ${(r.missingData || []).join(", ")}`
        : (r.why || []).join("; ");
    return `<tr><td>${escapeHtml(r.rule)}</td><td class="${escapeHtml(r.status)}">${escapeHtml(r.status)}</td><td>${escapeHtml(why)}</td></tr>`;
  }).join("");
  const aside = (explanation.setAside || []).map((s) => `<li>${escapeHtml(s.resource)}: ${escapeHtml(s.reason)}</li>`).join("");
  el.innerHTML = `<h3>Why</h3><table><thead><tr><th>Rule</th><th>Outcome</th><th>Why</th></tr></thead><tbody>${rows}</tbody></table>
    ${aside ? `<h4>Set aside</h4><ul>${aside}</ul>` : ""}`;
  el.hidden = false;
}

// ---- hooks -----------------------------------------------------------------------------------

async function callHook(hook, selected) {
  const service = services[hook];
  $("hook").textContent = `— ${hook}`;
  $("status").textContent = "Calling…";
  $("status").className = "";
  $("explanation").hidden = true;
  const built = await postJson("/sandbox/api/request", {
    service: service.id, patient: patient, useFhirServer: $("use-server").checked,
    drafts: hook === "patient-view" ? undefined : drafts.map((d) => d.resource), selected,
  });
  $("request").textContent = JSON.stringify(built.body, null, 2);
  if (built.status !== 200) { $("status").textContent = built.body.message; $("status").className = "error"; return; }
  const started = performance.now();
  const answer = await postJson(`/cds-services/${service.id}`, built.body);
  const took = Math.round(performance.now() - started);
  $("response").textContent = JSON.stringify(answer.body, null, 2);
  const cards = $("cards");
  cards.innerHTML = "";
  if (answer.status !== 200) {
    $("status").textContent = `HTTP ${answer.status}: ${answer.body.message || ""}`;
    $("status").className = "error";
    return;
  }
  $("status").textContent = `HTTP 200 in ${took} ms — ${answer.body.cards.length} card(s)`;
  if (!answer.body.cards.length) cards.innerHTML = '<p class="muted">No advice for this patient and hook.</p>';
  for (const card of answer.body.cards) cards.appendChild(renderCard(service, card));
  if ($("explain").checked) {
    const explained = await postJson(`/sandbox/api/explain/${service.id}`, built.body);
    if (explained.status === 200) renderExplanation(explained.body);
  }
}

async function openChart() {
  patient = $("patient").value;
  drafts = [];
  renderDrafts();
  const info = await getJson(`/sandbox/api/patients/${encodeURIComponent(patient)}/banner`);
  renderBanner(info.body);
  await callHook("patient-view");
}

async function selectOrder() {
  const made = await postJson("/sandbox/api/draft", { drug: $("catalogue").value, patient: patient });
  if (made.status !== 200) { $("status").textContent = made.body.message; $("status").className = "error"; return; }
  drafts.push({ resource: made.body, fromCds: false });
  renderDrafts();
  await callHook("order-select", [refOf(made.body)]);
}

async function showReport() {
  const report = await getJson("/sandbox/api/report");
  const rows = (report.body.rules || []).map((r) => `<tr><td>${escapeHtml(r.rule)} ${escapeHtml(r.version)}</td>
    <td>${escapeHtml(r.mode)}</td><td>${r.issued}</td><td>${r.mode === "shadow" ? "–" : r.accepted}</td>
    <td>${r.mode === "shadow" ? "–" : r.overridden}</td><td>${r.mode === "shadow" ? "–" : r.noFeedback}</td>
    <td>${r.topOverrideReasons.map((x) => `${escapeHtml(x.reason)} (${x.count})`).join(", ")}</td></tr>`).join("");
  $("outcomes").innerHTML = rows
    ? `<table class="outcomes"><thead><tr><th>Rule</th><th>Mode</th><th>Issued</th><th>Accepted</th><th>Overridden</th>
       <th>No feedback</th><th>Top override reasons</th></tr></thead><tbody>${rows}</tbody></table>
       <img id="outcomes-chart" alt="Card outcomes per rule" src="/sandbox/api/report.png?t=${Date.now()}">`
    : '<p class="muted">No cards issued yet.</p>';
  const chart = $("outcomes-chart");
  if (chart) chart.onerror = () => chart.remove(); // no chart without matplotlib (the report extra)
}

async function init() {
  const [discovery, demo] = await Promise.all([getJson("/cds-services"), getJson("/sandbox/api/patients")]);
  for (const service of discovery.body.services || []) services[service.hook] = service;
  $("patient").innerHTML = demo.body.patients.map((p) =>
    `<option value="${escapeHtml(p.id)}">${escapeHtml(p.name)}</option>`).join("");
  $("catalogue").innerHTML = demo.body.orderable.map((d) => `<option value="${d.id}">${escapeHtml(d.label)}</option>`).join("");
  $("patient").onchange = openChart;
  $("select-order").onclick = selectOrder;
  $("sign").onclick = () => callHook("order-sign");
  $("report").onclick = showReport;
  document.body.dataset.ready = "true";
  await openChart();
}

init();
