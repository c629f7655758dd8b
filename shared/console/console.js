// Finance review console. Holds no data of its own: every figure comes from the API, called
// with the bearer token the user pastes (kept in sessionStorage, so it dies with the tab).
// Every value is rendered with textContent, never as HTML.
"use strict";

const TOKEN_KEY = "rewards.console.token";
const PAGE_SIZE = 50;

const state = { cursor: null, selected: null, reissuing: null };

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
  row.appendChild(el("td", review.program_id, "hash"));
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
  $("d-referee").textContent = review.referee_customer_id;
  $("d-advocate").textContent = review.advocate_id;

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
    row.appendChild(el("td", account.referral_id || account.advocate_id, "hash"));
    row.appendChild(el("td", account.customer_id));
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

// --- failed rewards --------------------------------------------------------------------------

async function loadFailed() {
  setStatus("failed-status", "Loading…");
  const result = await api("GET", "/v1/rewards?status=failed&limit=50");
  const body = $("failed-rewards").querySelector("tbody");
  body.replaceChildren();
  if (!result.ok) {
    setStatus("failed-status", problemText(result), "error");
    return;
  }
  for (const reward of result.data.items) body.appendChild(failedRow(reward));
  if (!result.data.items.length) body.appendChild(emptyRow(5, "No failed rewards."));
  setStatus("failed-status", "");
}

function failedRow(reward) {
  const row = el("tr", null, "failed-reward");
  row.dataset.rewardId = reward.reward_id;
  row.appendChild(el("td", reward.reward_id, "hash"));
  row.appendChild(el("td", `${reward.kind} to ${reward.beneficiary}`));
  row.appendChild(el("td", `${reward.amount} ${reward.currency}`));
  row.appendChild(el("td", shortTime(reward.updated_at)));
  const cell = el("td");
  const button = el("button", "Reissue", "reissue");
  button.type = "button";
  button.addEventListener("click", () => openReissue(reward.reward_id));
  cell.appendChild(button);
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
  await loadFailed();
}

// --- wiring ----------------------------------------------------------------------------------

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    showWho();
    loadQueue(false);
    loadFailed();
  });
  $("token-clear").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showWho();
    $("reviews").querySelector("tbody").replaceChildren();
    $("detail").hidden = true;
    $("failed-rewards").querySelector("tbody").replaceChildren();
    $("reissue").hidden = true;
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadQueue(false);
  });
  $("more").addEventListener("click", () => loadQueue(true));
  $("approve").addEventListener("click", () => decide("approve"));
  $("reject").addEventListener("click", () => decide("reject"));
  $("failed-refresh").addEventListener("click", () => loadFailed());
  $("reissue").addEventListener("submit", (event) => {
    event.preventDefault();
    reissue();
  });
  $("r-cancel").addEventListener("click", () => {
    state.reissuing = null;
    $("reissue").hidden = true;
  });
  showWho();
  if (token()) {
    loadQueue(false);
    loadFailed();
  }
}

document.addEventListener("DOMContentLoaded", start);
