/*
 * The storefront widget, <loyalty-widget>: plain JavaScript, no build step, no framework.
 *
 * A store embeds it with one tag; the member API is this script's own origin:
 *   <script src="https://<platform>/widget/v1/loyalty.js" data-program="acme" data-token="<jwt>" defer></script>
 * or the digest form (data-customer, data-timestamp, data-digest); with neither, shoppers see the guest view.
 * The admin previews it: <loyalty-widget preview>, then el.preview = {appearance, texts, view} at any time
 * (texts: every key, defaults merged, as GET program gives them; view "guest" for the guest view): sample data,
 * no network.
 *
 * Why it is written this way:
 * - An open Shadow DOM, and :host reset with `all: initial !important`: the store's CSS cannot reach inside
 *   (not even `* { all: unset }`) and ours cannot leak out.
 * - Styles only through constructable stylesheets, colours through the CSSOM, the DOM only through
 *   createElement and text nodes: pages with a strict Content-Security-Policy run it, and reward names,
 *   activity titles and texts are always text, never markup.
 * - Texts are filled in by placeholder name only ({points}): nothing is ever evaluated.
 * - Every handler is guarded: an error is logged, never thrown into the store's page.
 * - Nothing global but the element, defined once even if the script is included twice.
 */
(() => {
"use strict";
const TAG = "loyalty-widget";
const SCRIPT = document.currentScript;
if (!window.customElements || !("adoptedStyleSheets" in Document.prototype)) return;

// Shown before the program's own texts are loaded, or when they cannot be: the English defaults of
// loyalty/widget/texts.py, which GET program merges into every text (a test keeps them equal; the title has
// no program name yet).
const FALLBACK_TEXTS = {
  panel_title: "Rewards",
  close: "Close",
  loading: "Loading…",
  error: "Something went wrong. Please try again.",
  retry: "Try again",
};
const DEFAULT_LOOK = { accent: "#4f46e5", accent_text: "#ffffff", label: "Rewards" };
const PAGE = 5;

const CSS = `
:host{all:initial!important;display:block!important}
:host([preview]){position:relative!important;min-height:660px!important;transform:translateZ(0)!important;overflow:hidden!important}
:host([preview]) .panel{max-height:calc(100% - 108px)}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.lw{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2937;-webkit-font-smoothing:antialiased}
button,input,a{font:inherit;color:inherit}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--lw-accent,#4f46e5);outline-offset:2px}
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 20px 12px 16px;background:var(--lw-accent,#4f46e5);color:var(--lw-accent-text,#fff);font-weight:600;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}
.launcher:hover{transform:translateY(-2px)}
.launcher svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.left .launcher{right:auto;left:20px}
.panel{position:fixed;right:20px;bottom:84px;z-index:2147483001;width:384px;max-width:calc(100vw - 40px);max-height:min(680px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 24px 60px rgba(15,23,42,.3);overflow:hidden;animation:lw-in .2s ease-out}
.left .panel{right:auto;left:20px}
@keyframes lw-in{from{opacity:0;transform:translateY(12px)}}
.head{display:flex;align-items:center;gap:8px;padding:14px 12px 14px 18px;background:var(--lw-accent,#4f46e5);color:var(--lw-accent-text,#fff)}
.head h2{flex:1;margin:0;font-size:17px;font-weight:700}
.x{border:0;background:transparent;border-radius:8px;width:36px;height:36px;font-size:24px;line-height:1;color:inherit}
.x:hover{background:rgba(255,255,255,.18)}
.body{overflow-y:auto;padding:16px 18px 20px;display:flex;flex-direction:column;gap:18px;overscroll-behavior:contain}
h3{margin:0 0 8px;font-size:13px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;color:#6b7280}
p{margin:0}
.muted{color:#6b7280;font-size:13px}
.card{border:1px solid #e5e7eb;border-radius:12px;padding:12px 14px}
.hero{background:#f8fafc}
.hero [data-part=tier]{margin-top:10px;padding-top:10px;border-top:1px solid #e5e7eb}
.big{font-size:34px;font-weight:800;line-height:1.1;letter-spacing:-.02em}
.row{display:flex;align-items:center;gap:10px;flex-wrap:wrap}
.grow{flex:1;min-width:0}
ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.btn{display:inline-flex;align-items:center;justify-content:center;border:0;border-radius:8px;padding:8px 14px;background:var(--lw-accent,#4f46e5);color:var(--lw-accent-text,#fff);font-weight:600;text-decoration:none;min-height:36px}
.btn:disabled{opacity:.45;cursor:not-allowed}
.ghost{background:#fff;color:#1f2937;border:1px solid #d1d5db}
.links{display:flex;gap:8px;flex-wrap:wrap}
progress{width:100%;height:8px;margin:8px 0 6px;border:0;border-radius:99px;background:#e5e7eb;appearance:none;overflow:hidden;display:block}
progress::-webkit-progress-bar{background:#e5e7eb;border-radius:99px}
progress::-webkit-progress-value{background:var(--lw-accent,#4f46e5);border-radius:99px}
progress::-moz-progress-bar{background:var(--lw-accent,#4f46e5)}
.reward{display:flex;flex-direction:column;gap:8px}
.cost{font-weight:700;white-space:nowrap}
.why{font-size:13px;color:#92400e}
.confirm{background:#f8fafc;border-radius:8px;padding:10px;display:flex;flex-direction:column;gap:8px}
.codebox{display:flex;gap:8px}
.codebox input,.field input{flex:1;min-width:0;border:1px solid #d1d5db;border-radius:8px;padding:7px 10px;background:#f9fafb}
.codebox input{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:14px}
.field{display:flex;flex-direction:column;gap:4px;font-size:13px}
.field input{background:#fff;max-width:140px}
.ok{color:#047857;font-weight:600}
.bad{color:#b91c1c}
.act li{display:flex;gap:10px;align-items:baseline;border-bottom:1px solid #f1f5f9;padding-bottom:8px}
.plus{color:#047857;font-weight:700;white-space:nowrap}
.minus{color:#b91c1c;font-weight:700;white-space:nowrap}
.pend{color:#6b7280;font-weight:600;white-space:nowrap}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:480px){.panel,.left .panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .launcher{display:none}}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}
`;
let sharedSheet = null;
const sheet = () => {
  if (!sharedSheet) {
    sharedSheet = new CSSStyleSheet();
    sharedSheet.replaceSync(CSS);
  }
  return sharedSheet;
};

const warn = (error) => {
  try { console.warn("loyalty widget:", error); } catch (_) { /* no console */ }
};
const own = (object, key) => object != null && Object.prototype.hasOwnProperty.call(object, key);

/** A text with its {placeholders} filled in by name ({{ and }} are braces); anything else stays as written. */
const fill = (template, values) =>
  String(template).replace(/\{\{|\}\}|\{(\w+)\}/g, (match, name) =>
    match === "{{" ? "{" : match === "}}" ? "}" : own(values, name) ? String(values[name]) : match);

const colour = (value, fallback) => (/^#[0-9a-f]{6}$/i.test(value) ? value : fallback);
const safeUrl = (value) => {
  try {
    const url = new URL(value, document.baseURI);
    return /^https?:$/.test(url.protocol) && value ? url.href : null;
  } catch (_) {
    return null;
  }
};
const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
const base64url = (text) =>
  btoa(Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join(""))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A handler that never throws into the page (async ones included). */
const guard = (fn) => (...args) => {
  try {
    const result = fn(...args);
    if (result && typeof result.catch === "function") result.catch(warn);
    return result;
  } catch (error) {
    warn(error);
    return undefined;
  }
};

/** An element: `h("p", {class: "muted"}, "text", child)`; strings become text nodes, `on…` are guarded. */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), guard(value));
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(2)) {
    if (child != null && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
const muted = (...children) => h("p", { class: "muted" }, ...children);
/** A button; `key` names it for keeping the focus when the panel is drawn again. */
const button = (key, label, onclick, more) => h("button", { class: "btn", type: "button", "data-k": key, onclick, ...more }, label);

function gift() {
  const ns = "http://www.w3.org/2000/svg";
  const icon = document.createElementNS(ns, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M20 12v9H4v-9M2 7h20v5H2zM12 21V7m0 0H7.5a2.5 2.5 0 1 1 0-5C11 2 12 7 12 7zm0 0h4.5a2.5 2.5 0 1 0 0-5C13 2 12 7 12 7z");
  icon.append(path);
  return icon;
}

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code || "request failed");
    Object.assign(this, { status, code, body });
  }
}

/** The preview's sample member. */
function sample() {
  const at = (days) => new Date(Date.now() + days * 864e5).toISOString();
  const year = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1)).toISOString();
  const reward = (id, name, summary, points, more) => ({ id, name, summary, points, pricing: "fixed", available: true, ...more });
  const rewards = [reward(1, "5 off", "5.00 USD off your order", 500),
    reward(2, "Store credit", "1.00 USD per 100 points", 100, { pricing: "variable", min_points: 200, max_points: 5000 }),
    reward(3, "Canvas tote", "A free canvas tote", 800, { available: false, unavailable_reason: "not_enough_points", points_needed: 160 })];
  const line = (id, days, title, points, pending) => ({ id, at: at(days), title, points, pending });
  return {
    program: { program: { currency: "USD" }, tier_metric: "points", rewards: rewards.map((r) => ({ ...r, available: null })),
      ways_to_earn: [{ name: "Every order", description: "1 point for every USD 1 spent" },
        { name: "First order bonus", description: "100 points on your first order" }],
      tiers: [{ name: "Silver", threshold: "200", perks: "Free shipping over $50" },
        { name: "Gold", threshold: "500", perks: "Early access to sales" }],
      referrals: { referrer_points: 500, friend_points: 250 },
      widget: { sign_in_url: "https://shop.example/login", sign_up_url: "https://shop.example/register" } },
    me: { subscribed: true, balances: { available: 640, pending: 54 }, tier: { name: "Silver", perks: "Free shipping over $50" },
      tier_progress: { metric: "points", value: "350", next_tier: { name: "Gold", threshold: "500", remaining: "150" },
        keep: { threshold: "150", by: year } },
      referral: { code: "SAM-7Q2K", link: "https://shop.example/?ref=SAM-7Q2K" }, next_expiry: { points: 120, at: year } },
    rewards,
    activity: { data: [line(4, -1, "Order #1002", 0, 54), line(3, -9, "Redeemed: 5 off", -500, 0),
      line(2, -30, "Order #1001", 120, 0), line(1, -31, "First order bonus", 100, 0)], next_cursor: null },
    redemptions: [{ id: 1, reward: "5 off", code: "SAMPLE-5OFF", status: "issued" }],
  };
}

class LoyaltyWidget extends HTMLElement {
  constructor() {
    super();
    guard(() => this.build())(); // an error in a constructor would reach the page: browsers report it
  }

  build() {
    this.state = "idle"; // idle (a member, not loaded yet) | loading | error | guest | join | member | hidden
    this.isOpen = false;
    this.texts = {};
    this.flags = {};
    this.amounts = {};
    this.activity = { data: [], next_cursor: null };
    this.redemptions = [];
    this.redeeming = null;
    this._preview = {};
    const root = this.attachShadow({ mode: "open" });
    this.theme = new CSSStyleSheet();
    this.theme.replaceSync(":host{}");
    root.adoptedStyleSheets = [sheet(), this.theme];
    this.launcher = h("button", { class: "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false",
      "aria-controls": "lw-panel", hidden: true, onclick: () => (this.isOpen ? this.close() : this.open()) },
    gift(), (this.label = h("span")));
    this.heading = h("h2", { id: "lw-title" });
    this.closer = h("button", { class: "x", type: "button", onclick: () => this.close() }, "×");
    this.body = h("div", { class: "body" });
    this.live = h("div", { class: "sr", role: "status", "aria-live": "polite" });
    this.panel = h("div", { class: "panel", id: "lw-panel", role: "dialog", "aria-modal": "true",
      "aria-labelledby": "lw-title", hidden: true }, h("div", { class: "head" }, this.heading, this.closer), this.body);
    this.frame = h("div", { class: "lw", onkeydown: (event) => this.onKey(event) }, this.launcher, this.panel, this.live);
    root.append(this.frame);
    this.look();
  }

  /** Called for the script tag (or by hand): where the API is, which program, which shopper. */
  setup({ base, program, token }) {
    this.config = { base: String(base), program: String(program), token: token || null };
    this.loadProgram();
  }

  get preview() {
    return this._preview;
  }

  set preview(value) {
    this._preview = value && typeof value === "object" ? value : {};
    if (this.isConnected && this.hasAttribute("preview")) guard(() => this.showPreview())();
  }

  connectedCallback() {
    if (own(this, "preview")) {
      // Set before the element was defined: an own property hides the setter, so pass the value on.
      const early = this.preview;
      delete this.preview;
      this.preview = early;
    }
    if (this.hasAttribute("preview")) guard(() => this.showPreview())();
  }

  // ---- texts and looks ----

  /** A text by its key, filled in; the key itself if a preview left it out. */
  t(key, values) {
    const given = this.texts[key];
    const text = typeof given === "string" && given.trim() ? given : own(FALLBACK_TEXTS, key) ? FALLBACK_TEXTS[key] : key;
    return fill(text, { program: this.name(), ...values });
  }

  name() {
    return (this.program && this.program.program && this.program.program.name) || "";
  }

  /** The texts and looks of GET program's `widget` (or the preview's); colours go in through the CSSOM. */
  look(widget) {
    const { texts, appearance } = widget || {};
    this.texts = texts && typeof texts === "object" ? texts : {};
    const given = appearance || {};
    const rule = this.theme.cssRules[0].style;
    rule.setProperty("--lw-accent", colour(given.accent, DEFAULT_LOOK.accent), "important");
    rule.setProperty("--lw-accent-text", colour(given.accent_text, DEFAULT_LOOK.accent_text), "important");
    this.frame.classList.toggle("left", given.position === "bottom-left");
    const label = typeof given.label === "string" && given.label.trim();
    this.label.textContent = label ? label.slice(0, 40) : DEFAULT_LOOK.label;
    this.closer.setAttribute("aria-label", this.t("close"));
    this.heading.textContent = this.t("panel_title");
  }

  // ---- opening and closing ----

  open() {
    this.show(true);
    if (["idle", "error"].includes(this.state) && this.config && this.config.token) this.loadMember();
    this.render();
    const first = this.body.querySelector("button, a[href], input");
    (first && first.getClientRects().length ? first : this.closer).focus();
  }

  close() {
    if (this.hasAttribute("preview")) return; // the preview stays open
    if (this.redeeming && ["confirm", "failed"].includes(this.redeeming.stage)) this.redeeming = null; // never reopen on "Yes"
    this.show(false);
    this.launcher.focus();
  }

  show(open) {
    this.isOpen = open;
    this.panel.hidden = !open;
    this.frame.classList.toggle("open", open);
    this.launcher.setAttribute("aria-expanded", String(open));
  }

  /** Esc closes; Tab stays inside the open panel (at 360 px it covers the whole page). */
  onKey(event) {
    const active = this.shadowRoot.activeElement;
    if (event.key === "Escape" && this.isOpen) {
      event.preventDefault();
      event.stopPropagation();
      if (this.redeeming && this.redeeming.stage === "confirm") this.cancel(); // Esc backs out of the question first
      else this.close();
    } else if (event.key === "Tab" && this.panel.contains(active)) {
      const nodes = Array.from(this.panel.querySelectorAll("button, a[href], input"))
        .filter((node) => !node.disabled && node.getClientRects().length);
      const edge = event.shiftKey ? nodes[0] : nodes[nodes.length - 1];
      if (active === edge) {
        event.preventDefault();
        (event.shiftKey ? nodes[nodes.length - 1] : nodes[0]).focus();
      }
    }
  }

  say(text) {
    this.live.textContent = "";
    setTimeout(() => { this.live.textContent = text; }, 50);
  }

  // ---- the member API ----

  async api(path, { method = "GET", body, key, auth = true } = {}) {
    const headers = { Accept: "application/json" };
    if (auth && this.config.token) headers.Authorization = "Bearer " + this.config.token;
    if (body) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(`${this.config.base}/member/v1/${encodeURIComponent(this.config.program)}/${path}`,
        { method, headers, body: body && JSON.stringify(body), mode: "cors", credentials: "omit", cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, "network", String(error)); // offline, or CORS refused this page's origin
    }
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) throw new ApiError(response.status, data && data.code, data && data.message, data);
    return data;
  }

  async loadProgram() {
    this.state = "loading";
    try {
      this.program = await this.api("program", { auth: false });
      this.look(this.program.widget);
      this.state = this.config.token ? "idle" : "guest";
    } catch (error) {
      if (error.status === 403 || error.status === 404) {
        // The store switched its widget off, or there is no such program: nothing to show.
        this.state = "hidden";
        this.show(false);
        this.launcher.hidden = true;
        return warn(error.message);
      }
      this.state = "error";
      this.retry = () => this.loadProgram();
    }
    this.launcher.hidden = false;
    if (this.isOpen && this.state === "idle") this.loadMember();
    this.render();
  }

  async loadMember() {
    if (!this.program) return this.loadProgram();
    this.state = "loading";
    this.render();
    try {
      this.me = await this.api("me");
      await this.loadLists();
      this.state = "member";
    } catch (error) {
      if (error.status === 401) {
        this.flags.signedOut = true;
        this.config.token = null; // expired or refused: the guest view, with a note
        this.state = "guest";
      } else {
        this.state = error.code === "not_a_member" ? "join" : "error";
        this.retry = () => this.loadMember();
      }
    }
    this.render();
    if (this.isOpen && !this.panel.contains(this.shadowRoot.activeElement)) this.closer.focus();
  }

  async loadLists() {
    const [rewards, activity, redemptions] = await Promise.all([this.api("rewards"),
      this.api(`me/activity?limit=${PAGE}`), this.api("me/redemptions?limit=5")]);
    Object.assign(this, { rewards, activity, redemptions: redemptions.data });
  }

  async refresh() {
    try {
      this.me = await this.api("me");
      await this.loadLists();
    } catch (error) {
      warn(error.message);
    }
    this.render();
  }

  async more() {
    Object.assign(this.flags, { moreFailed: false, moreBusy: true });
    this.render("more");
    try {
      const page = await this.api(`me/activity?limit=${PAGE * 2}&cursor=${encodeURIComponent(this.activity.next_cursor)}`);
      this.activity = { data: this.activity.data.concat(page.data), next_cursor: page.next_cursor };
    } catch (_) {
      this.flags.moreFailed = true;
    }
    this.flags.moreBusy = false;
    this.render("more");
  }

  // ---- redeeming ----

  /** The points a redemption spends: the price, or the amount asked for in steps (kept within the reward's range). */
  cost(reward) {
    if (reward.pricing !== "variable") return reward.points;
    const step = reward.points;
    const low = reward.min_points || step;
    const wanted = Math.round(Number(own(this.amounts, reward.id) ? this.amounts[reward.id] : low) / step) * step;
    return Math.min(reward.max_points || low, Math.max(low, wanted || low));
  }

  ask(reward) {
    this.redeeming = { reward, points: this.cost(reward), stage: "confirm" };
    this.render(`yes-${reward.id}`);
  }

  cancel() {
    const { id } = this.redeeming.reward;
    this.redeeming = null;
    this.render(`redeem-${id}`);
  }

  /** "Yes, redeem": each click gets a fresh Idempotency-Key, which its retries keep (the platform answers a
   * repeat with the first result, so a retry after a lost answer never spends twice). */
  async send(retrying) {
    const job = this.redeeming;
    if (!job || job.stage === "busy") return;
    if (!retrying) job.key = uuid();
    Object.assign(job, { stage: "busy", problem: null });
    this.render(`yes-${job.reward.id}`);
    try {
      const body = { reward_id: job.reward.id };
      if (job.reward.pricing === "variable") body.points = job.points;
      job.redemption = this.hasAttribute("preview") ? { code: "PREVIEW-1234" }
        : await this.api("me/redemptions", { method: "POST", body, key: job.key });
      job.stage = "done";
      const code = job.redemption.code;
      this.say(this.t("redeemed", { reward: job.reward.name }) + (code ? `. ${this.t("your_code")}: ${code}` : ""));
      this.render(`copy-code-${job.reward.id}`);
      if (!this.hasAttribute("preview")) await this.refresh();
    } catch (error) {
      job.stage = "failed";
      job.again = !error.status || error.status >= 500 || error.status === 429; // nothing was decided: try again
      job.problem = this.refusal(error, job);
      this.say(job.problem);
      this.render(job.again ? `retry-${job.reward.id}` : `cancel-${job.reward.id}`);
      if (!job.again) this.refresh();
    }
  }

  refusal(error, job) {
    if (error.code === "insufficient_points") {
      const short = job.points - ((this.me && this.me.balances.available) || 0);
      return this.t("not_enough_points", { points: this.points(Math.max(1, short)) });
    }
    if (error.code === "reward_unavailable") return this.reason({ unavailable_reason: error.body.reason });
    return this.t(error.status === 401 ? "signed_out" : "error");
  }

  // ---- copying and sharing ----

  async copy(text, key) {
    try {
      await navigator.clipboard.writeText(text);
      this.flags.copied = key;
      this.say(this.t("copied"));
      this.render(`copy-${key}`);
    } catch (_) {
      // No clipboard (an insecure page, a refused permission): select the text for Ctrl+C.
      this.flags.copyFailed = key;
      this.say(this.t("copy_failed"));
      this.render(`text-${key}`);
      const field = this.body.querySelector(`[data-k="text-${key}"]`);
      if (field) field.select();
    }
  }

  async share(link) {
    try {
      await navigator.share({ title: this.name(), text: this.t("share_text"), url: link });
    } catch (_) { /* the shopper closed the share sheet */ }
  }

  // ---- words ----

  format(value, options) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, options).format(Number(value));
    } catch (_) {
      return String(value);
    }
  }

  points(value) {
    return Math.abs(Number(value)) === 1 ? this.t("one_point") : this.t("points", { points: this.format(value) });
  }

  /** A tier metric's amount: points, money in the program's currency, or a count (orders). */
  measure(metric, value) {
    if (metric === "points") return this.points(value);
    return this.format(value, metric === "amount" ? { style: "currency", currency: this.program.program.currency } : {});
  }

  /** A date; for the last day something holds, a moment at midnight UTC (a year's end) is the day before. */
  day(iso, last) {
    try {
      let moment = new Date(iso);
      if (last && moment.getUTCHours() + moment.getUTCMinutes() === 0) moment = new Date(moment - 1);
      return moment.toLocaleDateString(document.documentElement.lang || undefined,
        { year: "numeric", month: "short", day: "numeric", timeZone: last ? "UTC" : undefined });
    } catch (_) {
      return String(iso);
    }
  }

  reason(reward) {
    const why = reward.unavailable_reason;
    if (why === "not_enough_points" && reward.points_needed) {
      return this.t("not_enough_points", { points: this.points(reward.points_needed) });
    }
    if (why === "tier") return this.t("for_tier", { tier: reward.min_tier || "" });
    return this.t(["out_of_stock", "limit_reached"].includes(why) ? why : "not_available");
  }

  // ---- drawing ----

  /** Draw the panel's body again; the focus goes to `focusKey`, else stays on what had it (by its data-k). */
  render(focusKey) {
    if (!this.isOpen) return;
    const active = this.shadowRoot.activeElement;
    const inside = Boolean(active && this.body.contains(active));
    const keep = focusKey || (inside && active.getAttribute("data-k"));
    const scroll = this.body.scrollTop;
    this.heading.textContent = this.t("panel_title");
    const view = { member: this.memberView, guest: this.guestView, join: this.joinView, error: this.errorView }[this.state];
    this.body.setAttribute("aria-busy", String(this.state === "loading"));
    // A view leaves out a section with nothing to show as null: replaceChildren would write "null".
    this.body.replaceChildren(...(view ? view.call(this) : [muted(this.t("loading"))]).filter((part) => part != null && part !== false));
    this.body.scrollTop = scroll;
    const target = keep && this.body.querySelector(`[data-k="${keep}"]`);
    if (target) target.focus();
    else if (inside) this.closer.focus(); // what had the focus is gone: keep the focus in the panel
  }

  section(key, heading, ...content) {
    return h("section", { "aria-labelledby": `lw-${key}`, "data-part": key }, h("h3", { id: `lw-${key}` }, heading), ...content);
  }

  errorView() {
    return [h("div", { class: "card", role: "alert" }, h("p", null, this.t("error"))),
      h("div", null, button("retry", this.t("retry"), () => (this.retry || this.loadProgram).call(this)))];
  }

  guestView() {
    const widget = this.program.widget || {};
    const [signIn, signUp] = [safeUrl(widget.sign_in_url), safeUrl(widget.sign_up_url)];
    return [h("div", { class: "card hero", "data-part": "guest" },
      this.flags.signedOut ? h("p", { class: "why", role: "note" }, this.t("signed_out")) : null,
      h("h3", null, this.t("guest_heading")), h("p", null, this.t("guest_body")),
      h("div", { class: "links" },
        signUp && h("a", { class: "btn", href: signUp, "data-k": "sign-up" }, this.t("sign_up")),
        signIn && h("a", { class: "btn ghost", href: signIn, "data-k": "sign-in" }, this.t("sign_in")))),
    this.earnView(), this.catalogView(this.program.rewards, false), this.tiersView()];
  }

  joinView() {
    return [h("div", { class: "card hero", "data-part": "join" }, h("h3", null, this.t("guest_heading")),
      h("p", null, this.t("join_by_order"))),
    this.earnView(), this.catalogView(this.program.rewards, false), this.tiersView()];
  }

  memberView() {
    return [this.balanceView(), this.catalogView(this.rewards, true), this.mineView(), this.referralView(),
      this.earnView(), this.activityView(), this.emailView()];
  }

  /** The member's choice about the program's e-mails (PUT me/subscription); the box shows what the platform says. */
  emailView() {
    if (typeof this.me.subscribed !== "boolean") return null;
    return h("div", { class: "card", "data-part": "email" }, h("label", { class: "row" },
      h("input", { type: "checkbox", checked: this.me.subscribed, "data-k": "email",
        onchange: (event) => this.subscribe(event.target.checked) }), this.t("emails")),
    this.flags.emailFailed && h("p", { class: "bad", role: "alert" }, this.t("error")));
  }

  async subscribe(value) {
    this.flags.emailFailed = false;
    try {
      this.me.subscribed = this.hasAttribute("preview") ? value
        : (await this.api("me/subscription", { method: "PUT", body: { subscribed: value } })).subscribed;
    } catch (_) {
      this.flags.emailFailed = true;
    }
    this.render("email");
  }

  balanceView() {
    const { balances, next_expiry: expiry } = this.me;
    return h("section", { class: "card hero", "aria-labelledby": "lw-balance" },
      h("h3", { id: "lw-balance" }, this.t("balance_label")),
      h("div", { class: "big", "data-part": "balance" }, this.format(balances.available)),
      balances.pending > 0 && muted(this.t("pending", { points: this.points(balances.pending) })),
      expiry && expiry.points > 0 && h("p", { class: "muted", "data-part": "expiring" },
        this.t("expiring", { points: this.points(expiry.points), date: this.day(expiry.at, true) })),
      this.tierView());
  }

  tierView() {
    const { tier, tier_progress: progress } = this.me;
    if (!progress) return null;
    const { next_tier: next, keep, metric } = progress;
    const parts = tier ? [h("p", null, h("strong", null, this.t("tier_current", { tier: tier.name }))),
      tier.perks && muted(tier.perks)] : [];
    if (next) {
      const by = keep && keep.by;
      const words = this.t(by ? "tier_next_by" : "tier_next",
        { remaining: this.measure(metric, next.remaining), tier: next.name, date: by ? this.day(by, true) : "" });
      const max = Math.max(Number(next.threshold), 1);
      parts.push(h("progress", { max, value: Math.min(Number(progress.value) || 0, max), "aria-label": words }),
        h("p", { "data-part": "tier-next" }, words));
    } else if (tier) {
      parts.push(muted(this.t("tier_top")));
    }
    if (tier && keep && keep.by && !keep.held_by_manual_tier_until && Number(progress.value) < Number(keep.threshold)) {
      parts.push(muted(this.t("tier_keep",
        { threshold: this.measure(metric, keep.threshold), date: this.day(keep.by, true), tier: tier.name })));
    }
    return h("div", { "data-part": "tier" }, parts);
  }

  earnView() {
    const ways = this.program.ways_to_earn || [];
    return ways.length ? this.section("earn", this.t("earn_heading"), h("ul", null,
      ways.map((way) => h("li", { class: "card" }, h("strong", null, way.name), muted(way.description))))) : null;
  }

  tiersView() {
    const tiers = this.program.tiers || [];
    return tiers.length ? this.section("tiers", this.t("tiers_heading"), h("ul", null, tiers.map((tier) =>
      h("li", { class: "card row" }, h("div", { class: "grow" }, h("strong", null, tier.name), tier.perks && muted(tier.perks)),
        Number(tier.threshold) > 0 && h("span", { class: "muted" }, this.measure(this.program.tier_metric, tier.threshold)))))) : null;
  }

  catalogView(rewards, canRedeem) {
    return rewards && rewards.length ? this.section("rewards", this.t("rewards_heading"),
      h("ul", null, rewards.map((reward) => h("li", { class: "card reward", "data-reward": reward.id },
        h("div", { class: "row" },
          h("div", { class: "grow" }, h("strong", null, reward.name), muted(reward.summary)),
          h("span", { class: "cost" }, reward.pricing === "variable"
            ? `${this.format(reward.min_points || reward.points)}–${this.format(reward.max_points)}`
            : this.points(reward.points))),
        reward.description && muted(reward.description),
        canRedeem && this.redeemView(reward))))) : null;
  }

  redeemView(reward) {
    const job = this.redeeming && this.redeeming.reward.id === reward.id ? this.redeeming : null;
    const { id } = reward;
    if (job && job.stage === "done") {
      const { code } = job.redemption;
      return h("div", { class: "confirm" }, h("p", { class: "ok" }, this.t("redeemed", { reward: reward.name })),
        code && this.copyBox(this.t("your_code"), code, `code-${id}`));
    }
    if (job) {
      const busy = job.stage === "busy";
      const go = job.stage !== "failed" ? button(`yes-${id}`, this.t(busy ? "loading" : "confirm"),
        () => this.send(), { "aria-disabled": busy && "true" })
        : job.again && button(`retry-${id}`, this.t("retry"), () => this.send(true));
      return h("div", { class: "confirm" },
        h("p", null, this.t("redeem_confirm", { points: this.points(job.points), reward: reward.name })),
        job.problem && h("p", { class: "bad", role: "alert" }, job.problem),
        h("div", { class: "links" }, go,
          button(`cancel-${id}`, this.t("cancel"), () => this.cancel(), { class: "btn ghost", disabled: busy })));
    }
    if (!reward.available) return h("p", { class: "why" }, this.reason(reward));
    if (reward.pricing !== "variable") return h("div", null, button(`redeem-${id}`, this.t("redeem"), () => this.ask(reward)));
    const { available } = this.me.balances;
    const low = reward.min_points || reward.points;
    const label = () => this.t("redeem_for", { points: this.format(this.cost(reward)) });
    const go = button(`redeem-${id}`, label(), () => this.ask(reward), { disabled: this.cost(reward) > available });
    return h("div", { class: "row" }, h("label", { class: "field grow" }, this.t("points_to_spend"),
      h("input", { type: "number", inputmode: "numeric", min: low, step: reward.points, value: String(this.cost(reward)),
        max: Math.max(low, Math.min(reward.max_points, Math.floor(available / reward.points) * reward.points)),
        "data-k": `amount-${id}`, oninput: (event) => {
          // Only the button changes while typing: drawing the card again would take the focus away.
          this.amounts[id] = event.target.value;
          go.textContent = label();
          go.disabled = this.cost(reward) > available;
        } })), go);
  }

  /** A read-only field with a copy button (a code, a referral link); `extra` goes beside them. */
  copyBox(label, text, key, extra) {
    return h("div", null, h("div", { class: "codebox" },
      h("input", { readonly: true, value: text, "aria-label": label, "data-k": `text-${key}`, "data-copy": key,
        onfocus: (event) => event.target.select() }),
      button(`copy-${key}`, this.t(this.flags.copied === key ? "copied" : "copy"), () => this.copy(text, key)), extra),
    this.flags.copyFailed === key && muted(this.t("copy_failed")));
  }

  mineView() {
    const issued = this.redemptions.filter((row) => row.status === "issued" && row.code);
    return issued.length ? this.section("mine", this.t("my_rewards_heading"), h("ul", null, issued.map((row) =>
      h("li", { class: "card" }, h("p", null, h("strong", null, row.reward)), this.copyBox(row.reward, row.code, `mine-${row.id}`))))) : null;
  }

  referralView() {
    const terms = this.program.referrals;
    const { link, code } = this.me.referral || {};
    const text = safeUrl(link) || code;
    if (!terms || !text) return null;
    const share = text === safeUrl(link) && navigator.share && button("share", this.t("share"), () => this.share(text), { class: "btn ghost" });
    return h("div", { class: "card" }, this.section("referral", this.t("referral_heading"),
      h("p", null, this.t("referral_body",
        { friend_points: this.points(terms.friend_points), referrer_points: this.points(terms.referrer_points) })),
      this.copyBox(this.t("referral_heading"), text, "referral", share)));
  }

  activityView() {
    const lines = this.activity.data || [];
    const change = ({ points, pending }) => (points > 0 ? h("span", { class: "plus" }, `+${this.format(points)}`)
      : points < 0 ? h("span", { class: "minus" }, `−${this.format(-points)}`)
        : h("span", { class: "pend" }, pending ? this.t("pending", { points: (pending > 0 ? "+" : "−") + this.format(Math.abs(pending)) }) : "0"));
    return this.section("activity", this.t("activity_heading"),
      lines.length ? h("ul", { class: "act" }, lines.map((line) => h("li", null,
        h("div", { class: "grow" }, h("div", null, line.title), h("div", { class: "muted" }, this.day(line.at))),
        change(line)))) : muted(this.t("no_activity")),
      this.flags.moreFailed && h("p", { class: "bad", role: "alert" }, this.t("error")),
      this.activity.next_cursor && h("div", null, button("more", this.t(this.flags.moreFailed ? "retry" : "show_more"),
        () => this.more(), { class: "btn ghost", disabled: this.flags.moreBusy })));
  }

  // ---- the admin's preview ----

  showPreview() {
    const data = this.sample || (this.sample = sample());
    const { appearance, texts, view, program } = this._preview;
    this.program = { ...data.program, program: { currency: "USD", name: typeof program === "string" ? program : "Your store" } };
    this.look({ appearance, texts });
    if (!this.rewards) Object.assign(this, { me: data.me, rewards: data.rewards, activity: data.activity, redemptions: data.redemptions });
    this.state = view === "guest" ? "guest" : "member";
    this.launcher.hidden = false;
    this.show(true);
    this.render();
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, LoyaltyWidget);

/** The script tag's own widget: data-program names the program; a token, or a digest, the shopper. */
function mount() {
  const data = SCRIPT && SCRIPT.dataset;
  if (!data || !data.program) return;
  for (const existing of document.querySelectorAll(TAG)) {
    if (existing.getAttribute("data-program") === data.program) return; // the script was included twice
  }
  let token = data.token || null;
  if (!token && data.customer && data.timestamp && data.digest) {
    token = `hmac.${base64url(data.customer)}.${data.timestamp}.${data.digest}`;
  }
  const widget = document.createElement(TAG);
  widget.setAttribute("data-program", data.program);
  document.body.append(widget);
  if (widget.setup) widget.setup({ base: new URL(SCRIPT.src).origin, program: data.program, token });
}

const start = guard(mount);
if (document.body) start();
else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
