"use strict";
// Plays the EHR: builds a hook request for a demo patient, calls the CDS service,
// shows its cards, and sends feedback when a suggestion is accepted or a card dismissed.

const $ = (id) => document.getElementById(id);
let services = [];

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
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

function selectedService() {
  return services.find((s) => s.id === $("service").value);
}

function refreshForm() {
  const service = selectedService();
  $("drug-row").style.display = service && service.hook !== "patient-view" ? "" : "none";
  const option = $("patient").selectedOptions[0];
  $("about").textContent = option ? option.dataset.about || "" : "";
}

async function sendFeedback(service, item) {
  const body = { feedback: [{ ...item, outcomeTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") }] };
  $("feedback").textContent = JSON.stringify(body, null, 2);
  return getJson(`/cds-services/${service.id}/feedback`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

function renderCard(service, card) {
  const el = document.createElement("article");
  el.className = `card ${card.indicator}`;
  const source = card.source.url
    ? `<a href="${escapeHtml(card.source.url)}" target="_blank" rel="noopener">${escapeHtml(card.source.label)}</a>`
    : escapeHtml(card.source.label);
  el.innerHTML = `<div class="indicator">${escapeHtml(card.indicator)}</div>
    <h3>${escapeHtml(card.summary)}</h3>
    <div class="source">Source: ${source}</div>
    <details class="detail"><summary>Details</summary>${markdown(card.detail || "")}</details>`;
  for (const link of card.links || []) {
    const a = document.createElement("a");
    a.href = link.url; a.target = "_blank"; a.rel = "noopener"; a.textContent = link.label;
    el.appendChild(a);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const suggestion of card.suggestions || []) {
    const button = document.createElement("button");
    button.textContent = suggestion.label;
    button.title = (suggestion.actions || []).map((a) => a.description).join("; ");
    button.onclick = async () => {
      const result = await sendFeedback(service, {
        card: card.uuid, outcome: "accepted", acceptedSuggestions: [{ id: suggestion.uuid }],
      });
      actions.innerHTML = `<span class="done">Accepted (feedback ${result.status}): ${escapeHtml(button.title)}</span>`;
    };
    actions.appendChild(button);
  }
  const reasons = document.createElement("select");
  reasons.innerHTML = '<option value="">Dismiss without a reason</option>' +
    (card.overrideReasons || []).map((r, i) => `<option value="${i}">${escapeHtml(r.display)}</option>`).join("");
  const dismiss = document.createElement("button");
  dismiss.className = "secondary";
  dismiss.textContent = "Dismiss";
  dismiss.onclick = async () => {
    const item = { card: card.uuid, outcome: "overridden" };
    if (reasons.value !== "") item.overrideReason = { reason: card.overrideReasons[Number(reasons.value)] };
    const result = await sendFeedback(service, item);
    actions.innerHTML = `<span class="done">Dismissed (feedback ${result.status})</span>`;
  };
  actions.append(reasons, dismiss);
  el.appendChild(actions);
  return el;
}

async function send() {
  const service = selectedService();
  $("status").textContent = "Calling…";
  $("status").className = "";
  const built = await getJson("/sandbox/api/request", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      service: service.id, patient: $("patient").value, drug: $("drug").value, useFhirServer: $("use-server").checked,
    }),
  });
  $("request").textContent = JSON.stringify(built.body, null, 2);
  if (built.status !== 200) { $("status").textContent = built.body.message; $("status").className = "error"; return; }
  const started = performance.now();
  const answer = await getJson(`/cds-services/${service.id}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(built.body),
  });
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
}

async function init() {
  const [discovery, demo] = await Promise.all([getJson("/cds-services"), getJson("/sandbox/api/patients")]);
  services = discovery.body.services || [];
  $("service").innerHTML = services.map((s) => `<option value="${s.id}">${s.hook} — ${escapeHtml(s.title)}</option>`).join("");
  $("patient").innerHTML = demo.body.patients.map((p) =>
    `<option value="${escapeHtml(p.id)}" data-about="${escapeHtml(p.about)}">${escapeHtml(p.name)} (${escapeHtml(p.file)})</option>`).join("");
  $("drug").innerHTML = demo.body.orderable.map((d) => `<option value="${d.id}">${escapeHtml(d.label)}</option>`).join("");
  $("service").onchange = refreshForm;
  $("patient").onchange = refreshForm;
  $("send").onclick = send;
  refreshForm();
}

init();
