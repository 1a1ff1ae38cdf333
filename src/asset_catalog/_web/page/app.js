// The Images / Files page: lists the tenant's assets through the catalog's HTTP API.
// No framework, no build step; the tenant comes from the host's own authentication (cookies
// or headers it adds), never from this page.

const root = document.querySelector("main[data-api]");
const given = (value) => (value && !value.startsWith("{{") ? value : "");
const API = given(root.dataset.api).replace(/\/$/, "");
const CONVERSATION_URL = given(root.dataset.conversationUrl);
const pageQuery = new URLSearchParams(location.search);
const LIMIT = Math.min(Math.max(Number.parseInt(pageQuery.get("limit"), 10) || 24, 1), 100);
const FILTERS = ["type", "conversation_id", "agent_key", "mime_prefix", "from", "to"];

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];
const SOURCES = {
  image_generation: "Image generation",
  code_interpreter: "Code Interpreter",
  user_upload: "Upload",
};

// -- talking to the API --------------------------------------------------------------------

/** An RFC 9457 problem (or a network failure) as the page shows it. */
class Problem extends Error {
  constructor(title, detail = "", status = 0) {
    super(detail ? `${title}: ${detail}` : title);
    this.title = title;
    this.detail = detail;
    this.status = status;
  }
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      signal,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Problem("Network error", "The server could not be reached; try again.");
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  let problem = {};
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    problem = await response.json().catch(() => ({}));
  }
  const title = problem.title || `${response.status} ${response.statusText}`.trim();
  throw new Problem(title, problem.detail || "", response.status);
}

function query(values) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  return params.toString();
}

// -- formatting ------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function humanSize(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(undefined, {
    style: "unit",
    unit: UNITS[unit],
    unitDisplay: unit ? "short" : "long",
    maximumFractionDigits: unit ? 1 : 0,
  }).format(value);
}

function created(asset) {
  return el("time", { datetime: asset.created_at }, dateTime.format(new Date(asset.created_at)));
}

/** The conversation and message, linked to the host's chat when it gave a URL template. */
function conversation(asset) {
  if (!asset.conversation_id && !asset.message_id) return el("span", { class: "muted" }, "—");
  const text = [asset.conversation_id, asset.message_id].filter(Boolean).join(" / ");
  if (!CONVERSATION_URL || !asset.conversation_id) return el("span", { class: "mono" }, text);
  const href = CONVERSATION_URL.replaceAll(
    "{conversation_id}",
    encodeURIComponent(asset.conversation_id),
  )
    .replaceAll("{message_id}", encodeURIComponent(asset.message_id || ""))
    .replace(/[#?]$/, "");
  const url = new URL(href, document.baseURI);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return el("span", { class: "mono" }, text);
  }
  return el("a", { class: "mono", href: url.href }, text);
}

function showProblem(box, problem) {
  box.replaceChildren(
    el("strong", {}, problem.title),
    problem.detail ? el("span", {}, problem.detail) : null,
  );
  box.hidden = false;
}

function clearProblem(box) {
  box.hidden = true;
  box.replaceChildren();
}

// -- actions ---------------------------------------------------------------------------------

const notice = document.getElementById("notice");
const actionProblem = document.getElementById("action-problem");

async function download(asset) {
  clearProblem(actionProblem);
  try {
    const found = await api(
      `/assets/${encodeURIComponent(asset.id)}/download-url?disposition=attachment`,
    );
    const link = el("a", { href: found.url, download: "", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    notice.textContent = `Downloading ${asset.filename}…`;
  } catch (problem) {
    showProblem(actionProblem, problem);
  }
}

const dialog = document.getElementById("confirm-delete");
for (const button of dialog.querySelectorAll("button")) {
  button.addEventListener("click", () => dialog.close(button.value));
}

/** Ask in the page's own dialog (Escape or Cancel: no); resolves to true for "Delete". */
function confirmDelete(asset) {
  document.getElementById("confirm-text").textContent =
    `“${asset.filename}” will be removed from the catalog for everyone. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), {
      once: true,
    });
  });
}

async function remove(asset, item, feed) {
  clearProblem(actionProblem);
  if (!(await confirmDelete(asset))) return;
  try {
    await api(`/assets/${encodeURIComponent(asset.id)}`, { method: "DELETE" });
  } catch (problem) {
    showProblem(actionProblem, problem);
    return;
  }
  const next = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  feed.countChanged();
  notice.textContent = `Deleted ${asset.filename}.`;
  (next?.querySelector("a[href], button") || feed.heading).focus();
}

function actions(asset, item, feed) {
  return el(
    "div",
    { class: "actions" },
    el(
      "button",
      { type: "button", "aria-label": `Download ${asset.filename}`, onclick: () => download(asset) },
      "Download",
    ),
    el(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Delete ${asset.filename}`,
        onclick: () => remove(asset, item, feed),
      },
      "Delete",
    ),
  );
}

// -- the two lists ---------------------------------------------------------------------------

/** One section (images or files): its own cursor, loading and error state. */
class Feed {
  constructor(section, assetType, noun, renderPage) {
    this.section = section;
    this.assetType = assetType;
    this.noun = noun;
    this.renderPage = renderPage;
    this.heading = section.querySelector("h2");
    this.status = section.querySelector(".status");
    this.problem = section.querySelector(".problem");
    this.list = section.querySelector("ul, tbody");
    this.more = section.querySelector(".more");
    this.more.addEventListener("click", () => this.load());
    this.cursor = null;
    this.controller = null;
  }

  reset(filters) {
    this.controller?.abort();
    this.filters = filters;
    this.cursor = null;
    this.list.replaceChildren();
    this.section.hidden = Boolean(filters.asset_type) && filters.asset_type !== this.assetType;
    if (!this.section.hidden) this.load();
  }

  async load() {
    const controller = new AbortController();
    this.controller = controller;
    this.section.setAttribute("aria-busy", "true");
    this.more.disabled = true;
    this.status.textContent = `Loading ${this.noun}…`;
    clearProblem(this.problem);
    const search = query({
      ...this.filters,
      asset_type: this.assetType,
      limit: String(LIMIT),
      cursor: this.cursor,
    });
    try {
      const page = await api(`/assets?${search}`, { signal: controller.signal });
      if (controller.signal.aborted) return;
      await this.renderPage(page.items, this, controller.signal);
      if (controller.signal.aborted) return;
      this.cursor = page.next_cursor;
    } catch (problem) {
      if (!controller.signal.aborted) showProblem(this.problem, problem);
    } finally {
      if (!controller.signal.aborted) {
        this.section.removeAttribute("aria-busy");
        this.more.disabled = false;
        this.countChanged();
      }
    }
  }

  countChanged() {
    const count = this.list.children.length;
    this.more.hidden = !this.cursor;
    this.list.closest(".table-wrap")?.toggleAttribute("hidden", count === 0);
    if (!this.section.hasAttribute("aria-busy")) {
      const empty = count === 0 && !this.cursor && this.problem.hidden;
      this.status.textContent = empty ? `No ${this.noun} match these filters.` : "";
    }
  }
}

/** Open the full-size image (the grid shows thumbnails): its own URL, asked for on click. */
async function openOriginal(event, asset) {
  event.preventDefault();
  clearProblem(actionProblem);
  const opened = window.open("about:blank", "_blank");
  try {
    const found = await api(
      `/assets/${encodeURIComponent(asset.id)}/download-url?disposition=inline`,
    );
    if (opened) {
      opened.opener = null;
      opened.location.href = found.url;
    } else window.location.assign(found.url);
  } catch (problem) {
    opened?.close();
    showProblem(actionProblem, problem);
  }
}

/** A card's picture: the placeholder (a tiny data: URI in the asset) painted at once, blurred,
 * under the thumbnail, which fades in when it has loaded. Set through the CSSOM: the page's
 * CSP allows no inline style, and img-src allows data: URIs. */
function thumbnail(asset, url) {
  const img = el("img", {
    src: url,
    alt: asset.filename,
    loading: "lazy",
    decoding: "async",
    width: asset.width,
    height: asset.height,
  });
  const link = el(
    "a",
    { class: "thumb", href: url, target: "_blank", rel: "noopener" },
    img,
  );
  link.addEventListener("click", (event) => openOriginal(event, asset));
  if (asset.placeholder?.startsWith("data:image/")) {
    link.classList.add("placeholder");
    link.style.setProperty("--placeholder", `url("${asset.placeholder}")`);
    const shown = () => link.classList.add("loaded");
    if (img.complete) shown();
    else img.addEventListener("load", shown, { once: true });
  }
  return link;
}

async function renderImages(items, feed, signal) {
  if (items.length === 0) return;
  const batch = await api("/assets/download-urls", {
    method: "POST",
    body: { ids: items.map((asset) => asset.id), disposition: "inline", variant: "thumbnail" },
    signal,
  });
  if (signal.aborted) return;
  for (const asset of items) {
    if (batch.missing.includes(asset.id)) continue; // deleted since the list was read
    const url = batch.urls[asset.id]?.url;
    const item = el("li", { class: "card" });
    const size = asset.width && asset.height ? `${asset.width}×${asset.height} · ` : "";
    item.append(
      url ? thumbnail(asset, url) : el("div", { class: "thumb empty" }, "No preview"),
      el(
        "div",
        { class: "meta" },
        el("p", { class: "name", title: asset.filename }, asset.filename),
        el("p", { class: "muted" }, `${size}${humanSize(asset.size_bytes)}`),
        el("p", { class: "muted" }, created(asset)),
        el("p", { class: "muted" }, conversation(asset)),
      ),
      actions(asset, item, feed),
    );
    feed.list.append(item);
  }
}

async function renderFiles(items, feed) {
  for (const asset of items) {
    const row = el("tr");
    const source = [SOURCES[asset.source_tool], asset.agent_key].filter(Boolean).join(" · ");
    row.append(
      el(
        "th",
        { scope: "row" },
        el("span", { class: "name" }, asset.filename),
        el("span", { class: "muted small" }, source),
      ),
      el("td", { class: "mono" }, asset.mime_type),
      el("td", { class: "num" }, humanSize(asset.size_bytes)),
      el("td", {}, created(asset)),
      el("td", {}, conversation(asset)),
      el("td", {}, actions(asset, row, feed)),
    );
    feed.list.append(row);
  }
}

// -- filters ---------------------------------------------------------------------------------

const form = document.getElementById("filters");
const feeds = [
  new Feed(document.getElementById("images"), "image", "images", renderImages),
  new Feed(document.getElementById("files"), "file", "files", renderFiles),
];

/** A date input's day as an exclusive bound, in the browser's time zone. */
function dayBound(value, after) {
  if (!value) return "";
  const day = new Date(`${value}T00:00:00`);
  if (Number.isNaN(day.getTime())) return "";
  if (after) day.setMilliseconds(-1);
  else day.setDate(day.getDate() + 1);
  return day.toISOString();
}

function apply() {
  const values = Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value.trim()]));
  const search = new URLSearchParams(query(values));
  if (pageQuery.has("limit")) search.set("limit", String(LIMIT));
  history.replaceState(null, "", `${location.pathname}${search.size ? `?${search}` : ""}`);
  const filters = {
    asset_type: values.type,
    conversation_id: values.conversation_id,
    agent_key: values.agent_key,
    mime_prefix: values.mime_prefix,
    created_after: dayBound(values.from, true),
    created_before: dayBound(values.to, false),
  };
  clearProblem(actionProblem);
  for (const feed of feeds) feed.reset(filters);
}

for (const name of FILTERS) form.elements[name].value = pageQuery.get(name) || "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  apply();
});
document.getElementById("clear").addEventListener("click", () => {
  for (const name of FILTERS) form.elements[name].value = "";
  apply();
});
apply();
