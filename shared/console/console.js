// Finance review console. Holds no data of its own: every figure comes from the API, called
// with the bearer token the user pastes (kept in sessionStorage, so it dies with the tab).
// Every value is rendered with textContent, never as HTML.
"use strict";

const TOKEN_KEY = "rewards.console.token";
const PAGE_SIZE = 50;

const state = {
  cursor: null,
  selected: null,
  reissuing: null,
  ledgerCursor: null,
  blockCursor: null,
  programs: new Map(),
  advocates: new Map(),
};

function $(id) {
  return document.getElementById(id);
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function setStatus(id, text, kind) {
  const node = $(id);
  node.textContent = text || "";
  node.className = "status" + (kind ? " " + kind : "");
}

function shortTime(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/:\d\dZ$/, "Z");
}

function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch (_) {
    return null;
  }
}

function showWho() {
  const c = token() ? claims(token()) : null;
  $("who").textContent = c ? `signed in as ${c.sub} (${[].concat(c.roles || []).join(", ")})` : "no token";
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    // A fresh key per click: a retried request after a network drop is not decided twice.
    headers["Idempotency-Key"] = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = { detail: text };
    }
  }
  return { status: response.status, ok: response.ok, data };
}

function problemText(result) {
  const d = result.data || {};
  const title = d.title || `HTTP ${result.status}`;
  return d.detail ? `${title}: ${d.detail}` : title;
}

// --- names for ids (read once per page through the finance reads of the API) -------------

function cached(cache, key, load) {
  if (!cache.has(key)) {
    cache.set(key, load().then((result) => (result.ok ? result.data : null)));
  }
  return cache.get(key);
}

function programOf(programId) {
  return cached(state.programs, programId, () =>
    api("GET", "/v1/programs/" + encodeURIComponent(programId)),
  );
}

function advocateOf(advocateId) {
  return cached(state.advocates, advocateId, () =>
    api("GET", "/v1/advocates/" + encodeURIComponent(advocateId)),
  );
}

// A cell that shows the program's name (its id stays in the tooltip and data attribute).
function programCell(programId) {
  const cell = el("td", programId, "program-name");
  cell.title = programId;
  cell.dataset.programId = programId;
  programOf(programId).then((program) => {
    if (program && program.name) cell.textContent = program.name;
  });
  return cell;
}

function showProgramName(node, programId) {
  node.textContent = programId;
  node.title = programId;
  programOf(programId).then((program) => {
    if (program && program.name && node.title === programId) node.textContent = program.name;
  });
}

function showAdvocateCustomer(node, advocateId) {
  node.textContent = "…";
  node.title = advocateId;
  advocateOf(advocateId).then((advocate) => {
    if (node.title === advocateId) node.textContent = advocate ? advocate.customer_id : advocateId;
  });
}

// --- queue -----------------------------------------------------------------------------------

function filterQuery() {
  const params = new URLSearchParams({ status: "open", limit: String(PAGE_SIZE) });
  const program = $("f-program").value.trim();
  const minScore = $("f-min-score").value.trim();
  const reason = $("f-reason").value.trim().toUpperCase();
  if (program) params.set("program_id", program);
  if (minScore) params.set("min_score", minScore);
  if (reason) params.set("reason", reason);
  return params;
}

async function loadQueue(append) {
  if (!token()) {
    setStatus("queue-status", "Paste a finance token to see the reviews.", "error");
    return;
  }
  const params = filterQuery();
  if (append && state.cursor) params.set("cursor", state.cursor);
  setStatus("queue-status", "Loading…");
  const result = await api("GET", "/v1/reviews?" + params.toString());
  if (!result.ok) {
    setStatus("queue-status", problemText(result), "error");
    return;
  }
  const body = $("reviews").querySelector("tbody");
  if (!append) body.replaceChildren();
  for (const review of result.data.items) body.appendChild(reviewRow(review));
  state.cursor = result.data.next_cursor;
  $("more").hidden = !state.cursor;
  const count = body.children.length;
  setStatus("queue-status", count ? `${count} open review${count === 1 ? "" : "s"}` : "No open reviews.");
}

function reviewRow(review) {
  const row = el("tr", null, "review");
  row.dataset.referralId = review.referral_id;
  row.appendChild(el("td", Math.round(review.score * 10) / 10, "score"));
  row.appendChild(el("td", review.referral_id, "hash"));
  row.appendChild(programCell(review.program_id));
  const reasons = el("td");
  for (const reason of review.reasons) {
    const code = el("span", reason.code, "code");
    code.title = reason.message;
    reasons.appendChild(code);
  }
  row.appendChild(reasons);
  row.appendChild(el("td", review.approvals.map((a) => a.by).join(", ") || "–"));
  row.appendChild(el("td", shortTime(review.opened_at)));
  row.addEventListener("click", () => openReview(review.referral_id));
  return row;
}

// --- one review ------------------------------------------------------------------------------

async function openReview(referralId) {
  state.selected = referralId;
  for (const row of $("reviews").querySelectorAll("tr.review")) {
    row.classList.toggle("selected", row.dataset.referralId === referralId);
  }
  setStatus("decision-status", "");
  const result = await api("GET", "/v1/reviews/" + encodeURIComponent(referralId));
  if (!result.ok) {
    setStatus("queue-status", problemText(result), "error");
    return;
  }
  renderDetail(result.data);
}

function renderDetail(review) {
  $("detail").hidden = false;
  $("d-id").textContent = review.referral_id;
  $("d-status").textContent = review.status;
  $("d-score").textContent = review.risk
    ? `${review.risk.score} (${review.risk.decision}, ${review.risk.model_version})`
    : "not scored";
  $("d-total").textContent = `${review.rewards_total.amount} ${review.rewards_total.currency}`;
  renderApprovals(review.approvals, review.approvals_needed);
  $("d-deadline").textContent = shortTime(review.deadline);
  showProgramName($("d-program"), review.program_id);
  $("d-referee").textContent = review.referee_customer_id;
  showAdvocateCustomer($("d-advocate"), review.advocate_id);

  const reasons = $("d-reasons");
  reasons.replaceChildren();
  for (const reason of review.risk ? review.risk.reasons : []) {
    const item = el("li");
    item.appendChild(el("span", reason.code, "code"));
    item.appendChild(el("span", " " + reason.message));
    const evidence = Object.entries(reason.evidence || {});
    if (evidence.length) {
      item.appendChild(el("div", evidence.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("; "), "hash"));
    }
    reasons.appendChild(item);
  }

  const shared = $("d-shared").querySelector("tbody");
  shared.replaceChildren();
  for (const value of review.evidence.shared) {
    const row = el("tr");
    row.appendChild(el("td", value.kind));
    row.appendChild(el("td", value.value_hash.slice(0, 12) + "…", "hash"));
    row.appendChild(el("td", value.parties + (value.truncated ? "+" : "")));
    row.appendChild(el("td", value.with_advocate ? "yes" : "no"));
    shared.appendChild(row);
  }
  if (!review.evidence.shared.length) shared.appendChild(emptyRow(4, "Nothing shared with others."));

  const linked = $("d-linked").querySelector("tbody");
  linked.replaceChildren();
  for (const account of review.evidence.linked_accounts) {
    const row = el("tr");
    row.appendChild(el("td", account.role));
    const customer = el("td", account.customer_id);
    customer.title = account.referral_id || account.advocate_id;
    row.appendChild(customer);
    row.appendChild(programCell(account.program_id));
    row.appendChild(el("td", account.status || "–"));
    row.appendChild(el("td", account.via.join(", ")));
    linked.appendChild(row);
  }
  if (!review.evidence.linked_accounts.length) linked.appendChild(emptyRow(5, "No linked accounts."));

  const timeline = $("d-timeline");
  timeline.replaceChildren();
  for (const entry of review.timeline) {
    const actor = entry.actor ? ` — ${entry.actor}` : "";
    timeline.appendChild(el("li", `${shortTime(entry.at)}  ${entry.summary}${actor}`));
  }

  const open = review.status === "review";
  $("approve").disabled = !open;
  $("reject").disabled = !open;
}

function emptyRow(columns, text) {
  const row = el("tr");
  const cell = el("td", text);
  cell.colSpan = columns;
  row.appendChild(cell);
  return row;
}

function renderApprovals(approvals, needed) {
  const names = approvals.map((a) => `${a.by} at ${shortTime(a.at)}`).join(", ");
  $("d-approvals").textContent = `${approvals.length} of ${needed}` + (names ? ` (${names})` : "");
}

async function decide(decision) {
  if (!state.selected) return;
  const note = $("note").value.trim();
  const body = note ? { decision, note } : { decision };
  setStatus("decision-status", "Sending…");
  const result = await api(
    "POST",
    "/v1/reviews/" + encodeURIComponent(state.selected) + "/decision",
    body,
  );
  if (!result.ok) {
    setStatus("decision-status", problemText(result), "error");
    return;
  }
  const outcome = result.data;
  renderApprovals(outcome.approvals, outcome.approvals_needed);
  $("d-status").textContent = outcome.status;
  if (result.status === 202) {
    const missing = outcome.approvals_needed - outcome.approvals.length;
    setStatus(
      "decision-status",
      `Approval recorded (${outcome.approvals.length} of ${outcome.approvals_needed}); ` +
        `${missing} more from a different finance user needed.`,
      "ok",
    );
  } else {
    setStatus("decision-status", `Decided: ${outcome.status}.`, "ok");
    $("approve").disabled = true;
    $("reject").disabled = true;
  }
  $("note").value = "";
  await loadQueue(false);
}

// --- reward ledger ---------------------------------------------------------------------------

const KIND_NAMES = {
  gift_card: "gift card",
  cash: "cash",
  charity_donation: "charity donation",
  points: "points",
};

function kindText(entry) {
  const name = KIND_NAMES[entry.kind] || entry.kind;
  if (entry.kind === "charity_donation" && entry.charity) return `${name} to ${entry.charity}`;
  if (entry.kind === "points" && entry.points !== null && entry.points !== undefined) {
    return `${entry.points} ${name}`;
  }
  return name;
}

function ledgerQuery() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const status = $("l-status").value;
  const referral = $("l-referral").value.trim();
  if (status) params.set("status", status);
  if (referral) params.set("referral_id", referral);
  return params;
}

async function loadLedger(append) {
  const params = ledgerQuery();
  if (append && state.ledgerCursor) params.set("cursor", state.ledgerCursor);
  setStatus("ledger-status", "Loading…");
  const result = await api("GET", "/v1/rewards?" + params.toString());
  const body = $("ledger-rewards").querySelector("tbody");
  if (!append) body.replaceChildren();
  if (!result.ok) {
    setStatus("ledger-status", problemText(result), "error");
    return;
  }
  for (const reward of result.data.items) body.appendChild(ledgerRow(reward));
  state.ledgerCursor = result.data.next_cursor;
  $("ledger-more").hidden = !state.ledgerCursor;
  if (!body.children.length) body.appendChild(emptyRow(8, "No reward entries."));
  setStatus("ledger-status", "");
}

function ledgerRow(reward) {
  const row = el("tr", null, "reward-entry");
  row.dataset.rewardId = reward.reward_id;
  row.dataset.status = reward.status;
  row.appendChild(el("td", reward.reward_id, "hash"));
  row.appendChild(programCell(reward.program_id));
  row.appendChild(el("td", `${reward.beneficiary} ${reward.customer_id}`));
  row.appendChild(el("td", kindText(reward)));
  row.appendChild(el("td", `${reward.amount} ${reward.currency}`));
  row.appendChild(el("td", reward.status));
  row.appendChild(el("td", shortTime(reward.updated_at)));
  const cell = el("td");
  if (reward.status === "failed") {
    const button = el("button", "Reissue", "reissue");
    button.type = "button";
    button.addEventListener("click", () => openReissue(reward.reward_id));
    cell.appendChild(button);
  }
  row.appendChild(cell);
  return row;
}

function openReissue(rewardId) {
  state.reissuing = rewardId;
  $("r-id").textContent = rewardId;
  $("r-note").value = "";
  $("r-email").value = "";
  setStatus("reissue-status", "");
  $("reissue").hidden = false;
  $("r-note").focus();
}

async function reissue() {
  if (!state.reissuing) return;
  const note = $("r-note").value.trim();
  if (!note) {
    setStatus("reissue-status", "A note is required: say why the reward is reissued.", "error");
    return;
  }
  const email = $("r-email").value.trim();
  const body = email ? { note, recipient_email: email } : { note };
  setStatus("reissue-status", "Sending…");
  const result = await api(
    "POST",
    "/v1/rewards/" + encodeURIComponent(state.reissuing) + "/reissue",
    body,
  );
  if (!result.ok) {
    setStatus("reissue-status", problemText(result), "error");
    return;
  }
  setStatus(
    "reissue-status",
    `Reissued as attempt ${result.data.attempt}: ${result.data.status}.`,
    "ok",
  );
  state.reissuing = null;
  await loadLedger(false);
}

// --- blocklist -------------------------------------------------------------------------------

async function loadBlocklist(append) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (append && state.blockCursor) params.set("cursor", state.blockCursor);
  const result = await api("GET", "/v1/blocklist?" + params.toString());
  const body = $("blocklist-entries").querySelector("tbody");
  if (!append) body.replaceChildren();
  if (!result.ok) {
    setStatus("blocklist-status", problemText(result), "error");
    return;
  }
  for (const entry of result.data.items) body.appendChild(blockRow(entry));
  state.blockCursor = result.data.next_cursor;
  $("blocklist-more").hidden = !state.blockCursor;
  if (!body.children.length) body.appendChild(emptyRow(6, "Nothing blocked."));
}

function blockRow(entry) {
  const row = el("tr", null, "block-entry");
  row.dataset.entryId = entry.entry_id;
  row.appendChild(el("td", entry.kind));
  const value = el("td", entry.hint, "hash");
  value.title = entry.value_hash;
  row.appendChild(value);
  row.appendChild(el("td", entry.note || "–"));
  row.appendChild(el("td", entry.created_by));
  row.appendChild(el("td", shortTime(entry.created_at)));
  const cell = el("td");
  const button = el("button", "Remove", "danger unblock");
  button.type = "button";
  button.addEventListener("click", () => unblock(entry.entry_id));
  cell.appendChild(button);
  row.appendChild(cell);
  return row;
}

async function block() {
  const value = $("b-value").value.trim();
  if (!value) {
    setStatus("blocklist-status", "A value is required.", "error");
    return;
  }
  const note = $("b-note").value.trim();
  const body = { kind: $("b-kind").value, value };
  if (note) body.note = note;
  const result = await api("POST", "/v1/blocklist", body);
  if (!result.ok) {
    setStatus("blocklist-status", problemText(result), "error");
    return;
  }
  $("b-value").value = "";
  $("b-note").value = "";
  setStatus("blocklist-status", `Blocked ${result.data.kind} ${result.data.hint}.`, "ok");
  await loadBlocklist(false);
}

async function unblock(entryId) {
  const result = await api("DELETE", "/v1/blocklist/" + encodeURIComponent(entryId));
  if (!result.ok) {
    setStatus("blocklist-status", problemText(result), "error");
    return;
  }
  setStatus("blocklist-status", `Removed ${result.data.kind} ${result.data.hint}.`, "ok");
  await loadBlocklist(false);
}

// --- program stats ---------------------------------------------------------------------------

function rateText(rate) {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 1000) / 10}%`;
}

function money(value) {
  return `${value.amount} ${value.currency}`;
}

function durationText(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const days = Math.floor(seconds / 86400);
  const hours = Math.round((seconds % 86400) / 3600);
  return days ? `${days} d ${hours} h` : `${hours} h`;
}

async function loadStats() {
  const programId = $("s-program").value.trim() || $("f-program").value.trim();
  if (!programId) {
    setStatus("stats-status", "Name a program.", "error");
    return;
  }
  $("s-program").value = programId;
  setStatus("stats-status", "Loading…");
  const result = await api("GET", "/v1/programs/" + encodeURIComponent(programId) + "/stats");
  if (!result.ok) {
    $("stats-body").hidden = true;
    setStatus("stats-status", problemText(result), "error");
    return;
  }
  renderStats(result.data);
  setStatus("stats-status", "");
}

function renderStats(stats) {
  $("stats-body").hidden = false;
  showProgramName($("s-name"), stats.program_id);
  $("s-referrals").textContent = stats.referrals;
  $("s-conversions").textContent = stats.qualifying_conversions;
  $("s-conversion-rate").textContent = rateText(stats.conversion_rate);
  $("s-flagged").textContent = `${stats.flagged} / ${stats.rejected}`;
  $("s-fraud-rate").textContent = rateText(stats.fraud_rate);
  $("s-budget").textContent =
    `${money(stats.budget)} (${money(stats.budget_used)} / ${money(stats.budget_left)})`;
  $("s-paid-total").textContent = money(stats.rewards_paid_total);
  $("s-payout-time").textContent = durationText(stats.mean_time_to_payout_seconds);
  const paid = $("s-paid").querySelector("tbody");
  paid.replaceChildren();
  for (const line of stats.rewards_paid) {
    const row = el("tr", null, "paid-kind");
    row.dataset.kind = line.kind;
    row.appendChild(el("td", KIND_NAMES[line.kind] || line.kind));
    row.appendChild(el("td", line.count));
    row.appendChild(el("td", `${line.amount} ${line.currency}`));
    paid.appendChild(row);
  }
  if (!stats.rewards_paid.length) paid.appendChild(emptyRow(3, "Nothing paid yet."));
  renderVariants(stats.variants);
}

// Drawn only when the stats carry per-variant figures.
function renderVariants(variants) {
  const svg = window.ConsolePlot ? window.ConsolePlot.render(variants, document) : null;
  $("s-plot").replaceChildren();
  $("s-variants").hidden = !svg;
  if (svg) $("s-plot").appendChild(svg);
}

// --- wiring ----------------------------------------------------------------------------------

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    showWho();
    loadAll();
  });
  $("token-clear").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showWho();
    $("reviews").querySelector("tbody").replaceChildren();
    $("detail").hidden = true;
    $("ledger-rewards").querySelector("tbody").replaceChildren();
    $("blocklist-entries").querySelector("tbody").replaceChildren();
    $("stats-body").hidden = true;
    $("reissue").hidden = true;
    state.programs.clear();
    state.advocates.clear();
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadQueue(false);
  });
  $("more").addEventListener("click", () => loadQueue(true));
  $("approve").addEventListener("click", () => decide("approve"));
  $("reject").addEventListener("click", () => decide("reject"));
  $("ledger-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadLedger(false);
  });
  $("ledger-more").addEventListener("click", () => loadLedger(true));
  $("block-form").addEventListener("submit", (event) => {
    event.preventDefault();
    block();
  });
  $("blocklist-more").addEventListener("click", () => loadBlocklist(true));
  $("stats-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadStats();
  });
  $("reissue").addEventListener("submit", (event) => {
    event.preventDefault();
    reissue();
  });
  $("r-cancel").addEventListener("click", () => {
    state.reissuing = null;
    $("reissue").hidden = true;
  });
  showWho();
  if (token()) loadAll();
}

function loadAll() {
  loadQueue(false);
  loadLedger(false);
  loadBlocklist(false);
}

document.addEventListener("DOMContentLoaded", start);
