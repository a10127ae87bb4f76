/* Northwind agent console. Vanilla JS, no dependencies.
 *
 * Pages are shells rendered by the server (body[data-page]); this script fills them from the
 * live socket (/console/ws: queue, callbacks, the open ticket and its conversation) and acts
 * through /api with the session cookie plus the CSRF token (X-CSRF-Token, from <meta>).
 * Every text from a ticket is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var body = document.body;
  var PAGE = body.getAttribute("data-page");
  var TICKET_ID = body.getAttribute("data-ticket-id") || null;
  var ME = { name: body.getAttribute("data-user"), role: body.getAttribute("data-role") };
  var CALLS_ENABLED = body.getAttribute("data-calls-enabled") === "true";
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Ticket statuses in the agents' words and the calls a callback gets: the policy catalog's,
  // put on <body> by the server (bot/service/console/rendering.py).
  var CALLBACK_ATTEMPTS = parseInt(body.getAttribute("data-callback-attempts"), 10);
  var LABELS = {
    web: "Web chat", voice: "Phone", rest: "REST",
    not_offered: "not offered", offered: "offered, no answer yet", opted_in: "opted in", opted_out: "declined",
    cancelled: "cancelled by the customer"
  };
  var STATUS_LABELS = JSON.parse(body.getAttribute("data-status-labels") || "{}");
  Object.keys(STATUS_LABELS).forEach(function (status) { LABELS[status] = STATUS_LABELS[status]; });
  var FACTS = [["order_id", "Order"], ["purchase_date", "Purchased"], ["amount", "Amount"], ["product", "Product"]];

  // ---- small DOM helpers ------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function label(value) { return LABELS[value] || (value === null || value === undefined ? "—" : String(value)); }
  function words(value) { return value ? String(value).replace(/_/g, " ") : "—"; }

  function when(value) {
    if (value === null || value === undefined || value === "") return "";
    var date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (isNaN(date.getTime())) return String(value);
    return date.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }
  function ago(value) {
    var date = new Date(value);
    if (!value || isNaN(date.getTime())) return "";
    var minutes = Math.max(0, Math.round((Date.now() - date.getTime()) / 60000));
    if (minutes < 1) return "just now";
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  var toastTimer = null;
  function toast(message, kind) {
    var box = $("toast");
    box.textContent = message;
    box.className = "toast" + (kind === "info" ? " toast--info" : "");
    box.setAttribute("role", kind === "info" ? "status" : "alert");
    box.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { box.hidden = true; }, 8000);
  }

  // ---- the API ----------------------------------------------------------------------------
  function api(method, path, payload) {
    var options = {
      method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": CSRF }
    };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(path, options).then(function (res) {
      if (res.status === 401) {
        window.location.assign("/console/login?next=" + encodeURIComponent(window.location.pathname));
        throw new Error("signed out");
      }
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.error || ("HTTP " + res.status));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }
  function act(button, promise) {
    if (button) button.disabled = true;
    return promise.then(function (data) {
      if (button) button.disabled = false;
      return data;
    }, function (err) {
      if (button) button.disabled = false;
      if (err.message !== "signed out") toast(err.message);
      throw err;
    });
  }

  // ---- ticket rendering (queue card, ticket page, callbacks) --------------------------------
  function chips(t) {
    var list = el("div", { className: "chips" });
    list.appendChild(el("span", { className: "chip chip--channel", text: label(t.channel) }));
    var emotion = t.emotion || {};
    if (emotion.label) {
      var score = typeof emotion.score === "number" ? " " + emotion.score.toFixed(2) : "";
      list.appendChild(el("span", { className: "chip chip--emotion-" + emotion.label, "data-field": "emotion", text: "emotion: " + emotion.label + score }));
    }
    (t.risk_flags || []).forEach(function (flag) {
      list.appendChild(el("span", { className: "chip chip--risk", "data-field": "risk", text: words(flag) }));
    });
    if (t.style_hint) list.appendChild(el("span", { className: "chip chip--style", text: "style: " + t.style_hint }));
    return list;
  }

  function kv(pairs) {
    var dl = el("dl", { className: "kv" });
    pairs.forEach(function (pair) {
      dl.appendChild(el("dt", { text: pair[0] }));
      var dd = el("dd", {}, [typeof pair[1] === "string" || pair[1] === null || pair[1] === undefined ? (pair[1] || "—") : pair[1]]);
      if (pair[2]) dd.setAttribute("data-field", pair[2]);
      dl.appendChild(dd);
    });
    return dl;
  }

  // "2026-11-12" as "12 Nov 2026": a calendar day, never shifted by the agent's time zone.
  function day(iso) {
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var month = /^(\d{4})-(\d{2})$/.exec(iso || "");  // a month the customer gave without its day
    if (month) return months[parseInt(month[2], 10) - 1] + " " + month[1];
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!parts) return String(iso);
    return parseInt(parts[3], 10) + " " + months[parseInt(parts[2], 10) - 1] + " " + parts[1];
  }

  // An amount in the currency the customer gave it in ("US$180.00", never a bare "180").
  function money(amount, currency) {
    if (!currency) return String(amount);
    try {
      return new Intl.NumberFormat("en-GB", { style: "currency", currency: currency }).format(amount);
    } catch (e) {
      return amount + " " + currency;  // a code the browser doesn't know is still shown
    }
  }

  function factsBlock(t) {
    var facts = t.facts || {};
    var pairs = FACTS.map(function (f) {
      var value = facts[f[0]];
      if (value === null || value === undefined || value === "") return [f[1], "—"];
      return [f[1], f[0] === "amount" ? money(value, facts.currency) : String(value)];
    });
    var dated = (t.dates_mentioned || []).map(function (d) { return day(d.date) + " (" + d.what + ")"; });
    if (dated.length) pairs.push(["Other dates", dated.join("; ")]);
    var refs = (t.references_mentioned || []).map(function (r) { return r.value + " (" + r.what + ")"; });
    if (refs.length) pairs.push(["Other references", refs.join("; ")]);
    pairs.push(["Read back", t.facts_confirmed ? el("span", { className: "ok", text: "confirmed by the customer" })
                                              : el("span", { className: "warn", text: "not confirmed" })]);
    return el("div", { "data-field": "facts" }, [el("h3", { text: "Facts" }), kv(pairs)]);
  }

  function remedyBlock(t) {
    var remedy = t.remedy || {};
    var names = (t.view && t.view.remedy_labels) || {};
    var offered = (remedy.offered || []).map(function (id) { return names[id] || id; });
    return el("div", { "data-field": "remedy" }, [el("h3", { text: "Remedy" }), kv([
      ["Offered", offered.length ? offered.join(", ") : "none"],
      ["Chosen", remedy.chosen ? (names[remedy.chosen] || remedy.chosen) : "not chosen"]
    ])]);
  }

  function callbackBlock(t) {
    var cb = t.callback || {};
    var pairs = [["Choice", label(cb.status)]];
    if (cb.window) pairs.push(["Window", (t.view && t.view.callback_window_label) || when(cb.window.start)]);
    if (cb.outcome) pairs.push(["Result", words(cb.outcome) + (cb.attempts ? " (" + cb.attempts + " attempt" + (cb.attempts > 1 ? "s" : "") + ")" : "")]);
    return el("div", { "data-field": "callback" }, [el("h3", { text: "Second-explanation callback" }), kv(pairs)]);
  }

  function priorityBlock(t) {
    var p = t.priority || {};
    var reasons = el("ul", { className: "list" });
    (p.reasons || []).forEach(function (r) { reasons.appendChild(el("li", { text: r })); });
    return el("div", { "data-field": "priority" }, [el("h3", { text: "Priority " + (p.level || "") + " · score " + (p.score === undefined ? "—" : p.score) }),
      (p.reasons || []).length ? reasons : el("p", { className: "muted", text: "no reasons recorded" })]);
  }

  function disclosuresBlock(t) {
    var list = el("ul", { className: "list" });
    (t.disclosures || []).forEach(function (d) {
      list.appendChild(el("li", {}, [d.text || "", " ", el("span", { className: "policy", text: d.policy_id || "" })]));
    });
    return el("div", { "data-field": "disclosures" }, [
      el("h3", { text: "Already told the customer (don't promise otherwise)" }),
      (t.disclosures || []).length ? list : el("p", { className: "muted", text: "nothing stated yet" })]);
  }

  function transcriptBlock(t, open) {
    var lines = el("ol", { className: "lines" });
    (t.transcript || []).forEach(function (line) {
      lines.appendChild(el("li", {}, [el("b", { text: line.role === "customer" ? "Customer" : line.role === "bot" ? "Assistant" : words(line.role) }), line.text || ""]));
    });
    var details = el("details", { className: "transcript", "data-field": "transcript" }, [
      el("summary", { text: "Transcript (" + (t.transcript || []).length + " lines)" }), lines]);
    if (open) details.open = true;
    return details;
  }

  function card(t, options) {
    options = options || {};
    var level = (t.priority && t.priority.level) || "P4";
    var view = t.view || {};
    var title = (view.category_label || words(t.category) || "complaint") + (t.sub_reason ? " · " + words(t.sub_reason) : "");
    var idNode = options.link ? el("a", { className: "card__id", href: "/console/tickets/" + encodeURIComponent(t.ticket_id), text: t.ticket_id })
                              : el("span", { className: "card__id", text: t.ticket_id });
    var meta = el("span", { className: "card__meta" });
    if (t.status === "handed_off" && view.handed_off_at) meta.appendChild(el("span", { className: "waiting", "data-since": view.handed_off_at, text: "waiting " + ago(view.handed_off_at) }));
    else meta.appendChild(el("span", { "data-field": "status", text: label(t.status) }));
    meta.appendChild(el("span", { "data-field": "assignee", text: t.assignee ? "claimed by " + t.assignee : "unclaimed" }));

    var item = el("article", { className: "card card--" + level, "data-ticket-id": t.ticket_id, "data-status": t.status }, [
      el("div", { className: "card__head" }, [
        el("span", { className: "prio prio--" + level, "data-field": "priority-level", text: level + " · " + ((t.priority && t.priority.score) || 0) }),
        idNode, el("span", { className: "card__title", "data-field": "category", text: title }), meta]),
      chips(t)
    ]);
    if (view.handoff_reason) {
      item.appendChild(el("p", { className: "reason", "data-field": "handoff-reason" }, [el("b", { text: "Handed off: " }), view.handoff_reason]));
    }
    if (t.customer_demand) item.appendChild(el("blockquote", { className: "demand", "data-field": "demand", text: t.customer_demand }));
    item.appendChild(el("div", { className: "grid" }, [factsBlock(t), remedyBlock(t), callbackBlock(t), priorityBlock(t)]));
    item.appendChild(disclosuresBlock(t));
    if (t.style_hint) {
      item.appendChild(el("p", { className: "tip", "data-field": "style-tip" }, [el("b", { text: "Style: " + t.style_hint + ". " }), view.style_tip || ""]));
    }
    var customer = t.customer || {};
    if (customer.phone || customer.email) {
      item.appendChild(el("p", { className: "muted", "data-field": "customer", text: "Customer: " + [customer.phone, customer.email].filter(Boolean).join(" · ") }));
    }
    item.appendChild(transcriptBlock(t, options.openTranscript));
    if (options.actions) item.appendChild(options.actions);
    return item;
  }

  // Refresh the "waiting N min" labels.
  window.setInterval(function () {
    var nodes = document.querySelectorAll(".waiting[data-since]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = "waiting " + ago(nodes[i].getAttribute("data-since"));
  }, 30000);

  // ---- nav counts ---------------------------------------------------------------------------
  function setCount(id, n) {
    var node = $(id);
    if (!node) return;
    node.textContent = String(n);
    node.hidden = !n;
  }

  // ---- queue page -----------------------------------------------------------------------------
  var known = null; // ticket ids already shown (to mark new arrivals)
  function renderQueue(handoffs) {
    setCount("nav-handoffs", handoffs.length);
    if (PAGE !== "queue") return;
    var list = $("handoffs");
    var seen = {};
    list.textContent = "";
    handoffs.forEach(function (t) {
      var open = el("a", { className: "btn btn--primary", href: "/console/tickets/" + encodeURIComponent(t.ticket_id), text: "Open ticket" });
      var item = el("li", {}, [card(t, { link: true, actions: el("div", { className: "card__actions" }, [open]) })]);
      if (known && !known[t.ticket_id]) item.firstChild.classList.add("card--new");
      seen[t.ticket_id] = true;
      list.appendChild(item);
    });
    known = seen;
    $("queue-count").textContent = handoffs.length ? "(" + handoffs.length + ")" : "";
    $("queue-empty").hidden = handoffs.length > 0;
  }

  // ---- callbacks page -------------------------------------------------------------------------
  function windowState(cb) {
    var w = cb.window || {};
    var now = Date.now(), start = new Date(w.start).getTime(), end = new Date(w.end).getTime();
    if (!w.start || isNaN(start)) return "upcoming";
    if (!isNaN(end) && now >= end) return "overdue";
    return now >= start ? "due" : "upcoming";
  }

  function renderCallbacks(message) {
    var callbacks = message.callbacks || [];
    setCount("nav-callbacks", callbacks.length);
    if (PAGE !== "callbacks") return;
    var hours = $("hours");
    hours.textContent = (message.open_now ? "Open now" : "Closed now" + (message.next_open ? " · opens " + message.next_open : "")) +
      (message.hours ? " · " + message.hours : "");
    var list = $("callbacks");
    list.textContent = "";
    var specialist = ME.role === "specialist";
    callbacks.forEach(function (t) {
      var cb = t.callback || {};
      var state = windowState(cb);
      var buttons = el("div", { className: "card__actions" });
      // Without Twilio settings there is no button; the page's notice (#calls-unavailable) says
      // what to set. Without a phone on the account the button stays, disabled, saying why.
      var unavailable = $("calls-unavailable");
      if (CALLS_ENABLED) {
        var call = el("button", { type: "button", className: "btn btn--primary", "data-action": "call", text: "Call now" });
        call.disabled = !specialist || !message.open_now || !!unavailable;
        call.title = !specialist ? "Only specialists make callbacks" : unavailable ? unavailable.textContent
          : !message.open_now ? "Outside business hours" : "Rings your phone, then the customer";
        call.addEventListener("click", function () {
          act(call, api("POST", "/api/callbacks/" + encodeURIComponent(t.ticket_id) + "/call", {})).then(function (data) {
            toast("Calling your phone (" + data.call.to + "); when you answer, Twilio dials the customer. Call " + data.call.sid + ".", "info");
          }, function () {});
        });
        buttons.appendChild(call);
      }
      [["done", "Done", "btn--good"], ["no_answer", "No answer", "btn--warn"], ["cancelled", "Cancelled", "btn--bad"]].forEach(function (o) {
        var b = el("button", { type: "button", className: "btn " + o[2], "data-action": o[0], text: o[1] });
        b.disabled = !specialist;
        if (!specialist) b.title = "Only specialists record callback results";
        b.addEventListener("click", function () {
          act(b, api("POST", "/api/callbacks/" + encodeURIComponent(t.ticket_id) + "/attempt", { outcome: o[0] })).then(function () {}, function () {});
        });
        buttons.appendChild(b);
      });
      var head = el("div", { className: "card__head" }, [
        el("span", { className: "state state--" + state, "data-field": "state", text: state }),
        el("span", { className: "cb__window", "data-field": "window", text: (t.view && t.view.callback_window_label) || "no window" }),
        el("span", { "data-field": "attempts", className: "muted", text: (cb.attempts || 0) + " of " + CALLBACK_ATTEMPTS + " attempts" })
      ]);
      var item = el("li", { className: "callback", "data-ticket-id": t.ticket_id }, [head, card(t, { link: true, actions: buttons })]);
      list.appendChild(item);
    });
    $("callbacks-count").textContent = callbacks.length ? "(" + callbacks.length + ")" : "";
    $("callbacks-empty").hidden = callbacks.length > 0;
  }

  // ---- ticket page ----------------------------------------------------------------------------
  var current = null;   // the ticket shown
  var chatSeen = {};    // conversation messages already shown (role|text|at)

  function renderTicket(t) {
    // An API answer is the bare ticket; keep the labels from the last pushed one until the
    // live socket brings the new version (right after every change).
    if (!t.view && current && current.view && current.ticket_id === t.ticket_id) t.view = current.view;
    current = t;
    var holder = $("ticket-card");
    holder.textContent = "";
    holder.appendChild(card(t, { openTranscript: false }));
    var history = $("history");
    history.textContent = "";
    (t.history || []).forEach(function (h) {
      history.appendChild(el("li", { "data-action": h.action }, [
        el("time", { datetime: h.at, text: when(h.at) }), " ", el("b", { text: h.by || "?" }), " ", words(h.action),
        h.note ? el("span", { text: ": " + h.note }) : null]));
    });
    var status = $("status-line");
    status.textContent = "";
    status.appendChild(el("b", { "data-field": "ticket-status", text: label(t.status) }));
    status.appendChild(document.createTextNode(t.assignee ? " · claimed by " + t.assignee : " · unclaimed"));
    var handedOff = t.status === "handed_off";
    var closed = t.status === "resolved" || t.status === "closed";
    var claim = $("claim");
    claim.textContent = t.assignee && t.assignee !== ME.name ? "Take over from " + t.assignee : (t.assignee === ME.name ? "Claimed by you" : "Claim");
    claim.disabled = closed || t.assignee === ME.name;
    $("handback").disabled = !handedOff;
    $("resolve").disabled = closed;
    var voice = t.channel === "voice";
    // Only the colleague who claimed the hand-off writes to the customer (the server refuses
    // anyone else too): before Claim the composer is off and says why.
    var mine = t.assignee === ME.name;
    var chatOpen = handedOff && !voice && mine;
    $("chat-text").disabled = !chatOpen;
    $("chat-send").disabled = !chatOpen;
    var hint = $("chat-claim-hint");
    hint.hidden = !(handedOff && !voice && !mine);
    hint.textContent = "Claim the ticket to write to the customer" + (t.assignee && !mine ? " (" + t.assignee + " has it now: Take over)." : ".");
    $("chat-note").textContent = voice
      ? "Phone call " + t.conversation_id + (t.customer && t.customer.phone ? " from " + t.customer.phone : "") + ": what was said to the assistant before the transfer."
      : handedOff ? "You are talking to the customer live; the assistant stays silent until you hand the conversation back."
      : "The assistant has this conversation" + (closed ? " (ticket " + label(t.status) + ")." : ".");
  }

  function chatKey(m) { return (m.role || "") + "|" + (m.text || "") + "|" + (m.at || ""); }

  function addChat(m) {
    var list = $("chat-messages");
    if (!list) return;
    var role = m.role === "customer" || m.role === "agent" ? m.role : m.role === "status" ? "status" : "bot";
    var who = role === "customer" ? "Customer" : role === "agent" ? (m.agent || "Agent") : role === "bot" ? "Assistant" : "";
    var item = el("li", { className: "chat-msg chat-msg--" + role }, [
      who ? el("span", { className: "chat-msg__who", text: who + (m.at ? " · " + when(m.at) : "") }) : null,
      el("span", { className: "chat-msg__text", text: m.text || "" })]);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function renderConversation(message) {
    var list = $("chat-messages");
    list.textContent = "";
    chatSeen = {};
    if (message.error) addChat({ role: "status", text: message.error });
    (message.messages || []).forEach(function (m) { chatSeen[chatKey(m)] = true; addChat(m); });
  }

  function setupTicketPage() {
    $("claim").addEventListener("click", function () {
      act(this, api("POST", "/api/tickets/" + encodeURIComponent(TICKET_ID) + "/claim", {})).then(renderTicket, function () {});
    });
    $("handback").addEventListener("click", function () {
      act(this, api("POST", "/api/tickets/" + encodeURIComponent(TICKET_ID) + "/handback", {})).then(renderTicket, function () {});
    });
    $("add-note").addEventListener("click", function () {
      var box = $("note");
      if (!box.value.trim()) { box.focus(); return; }
      act(this, api("POST", "/api/tickets/" + encodeURIComponent(TICKET_ID) + "/notes", { note: box.value })).then(function (t) {
        box.value = "";
        renderTicket(t);
      }, function () {});
    });
    $("resolve").addEventListener("click", function () {
      var box = $("note");
      var payload = box.value.trim() ? { note: box.value } : {};
      act(this, api("POST", "/api/tickets/" + encodeURIComponent(TICKET_ID) + "/resolve", payload)).then(function (t) {
        box.value = "";
        renderTicket(t);
      }, function () {});
    });
    var form = $("composer"), text = $("chat-text");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = text.value;
      if (!value.trim() || !current) return;
      act($("chat-send"), api("POST", "/api/conversations/" + encodeURIComponent(current.conversation_id) + "/messages", { text: value }))
        .then(function (data) {
          text.value = "";
          // Shown when it comes back over the live socket (as the customer gets it); if it could
          // not be pushed live, show it now (it is in the transcript either way).
          if (!data.published) addChat(data.message);
          text.focus();
        }, function () {});
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (typeof form.requestSubmit === "function") form.requestSubmit();
      }
    });
  }

  // ---- ticket list (search) -------------------------------------------------------------------
  var FILTERS = ["q", "status", "category", "channel", "from", "to"];
  var listPage = 1;

  function searchParams() {
    var params = new URLSearchParams();
    FILTERS.forEach(function (name) {
      var field = $("ticket-search").elements[name];
      if (field && field.value.trim()) params.set(name, field.value.trim());
    });
    return params;
  }

  function runSearch(page) {
    listPage = page || 1;
    var params = searchParams();
    if (listPage > 1) params.set("page", String(listPage));
    // The address keeps the search: a reload or a shared link shows the same list.
    window.history.replaceState(null, "", "/console/tickets" + (params.toString() ? "?" + params.toString() : ""));
    return act($("search-go"), api("GET", "/api/tickets/search?" + params.toString())).then(renderTicketList, function () {});
  }

  function renderTicketList(data) {
    var rows = $("tickets");
    rows.textContent = "";
    (data.tickets || []).forEach(function (t) {
      var view = t.view || {};
      var customer = t.customer || {};
      var facts = t.facts || {};
      rows.appendChild(el("tr", { "data-ticket-id": t.ticket_id }, [
        el("td", {}, [el("a", { href: "/console/tickets/" + encodeURIComponent(t.ticket_id), text: t.ticket_id })]),
        el("td", { text: when(t.created_at) }),
        el("td", { "data-field": "status", text: label(t.status) + (t.assignee ? " · " + t.assignee : "") }),
        el("td", { text: (view.category_label || words(t.category)) + (facts.order_id ? " · " + facts.order_id : "") }),
        el("td", { text: label(t.channel) }),
        el("td", { text: [customer.phone, customer.email].filter(Boolean).join(" · ") || "—" }),
        el("td", { text: t.customer_demand || "" })
      ]));
    });
    var total = data.total || 0;
    $("tickets-table").hidden = !total || !(data.tickets || []).length;
    $("tickets-empty").hidden = total > 0;
    $("tickets-count").textContent = "(" + total + (data.truncated ? "+" : "") + ")";
    $("tickets-page").textContent = total ? "page " + data.page + " of " + data.pages : "";
    $("tickets-prev").hidden = data.page <= 1;
    $("tickets-next").hidden = data.page >= data.pages;
  }

  function setupTicketsPage() {
    var form = $("ticket-search");
    var given = new URLSearchParams(window.location.search);
    FILTERS.forEach(function (name) { if (given.get(name) && form.elements[name]) form.elements[name].value = given.get(name); });
    form.addEventListener("submit", function (event) { event.preventDefault(); runSearch(1); });
    ["status", "category", "channel", "from", "to"].forEach(function (name) {
      form.elements[name].addEventListener("change", function () { runSearch(1); });
    });
    $("tickets-prev").addEventListener("click", function () { runSearch(listPage - 1); });
    $("tickets-next").addEventListener("click", function () { runSearch(listPage + 1); });
    runSearch(parseInt(given.get("page") || "1", 10) || 1);
  }

  // ---- the live socket --------------------------------------------------------------------------
  var retry = 1000;
  function connect() {
    var url = new URL("/console/ws" + (TICKET_ID ? "?ticket_id=" + encodeURIComponent(TICKET_ID) : ""), window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var live = $("live");
    live.setAttribute("data-state", "connecting");
    live.querySelector(".live__text").textContent = "connecting";
    var socket = new WebSocket(url.toString());
    socket.addEventListener("open", function () {
      retry = 1000;
      live.setAttribute("data-state", "open");
      live.querySelector(".live__text").textContent = "live";
    });
    socket.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "handoffs") renderQueue(data.handoffs || []);
      else if (data.type === "callbacks") renderCallbacks(data);
      else if (data.type === "ticket" && PAGE === "ticket" && data.ticket.ticket_id === TICKET_ID) renderTicket(data.ticket);
      else if (data.type === "conversation" && PAGE === "ticket") renderConversation(data);
      else if (data.type === "message" && PAGE === "ticket") {
        if (!chatSeen[chatKey(data)]) { chatSeen[chatKey(data)] = true; addChat(data); }
      } else if (data.type === "status" && PAGE === "ticket" && data.handed_off === false) {
        addChat({ role: "status", text: "Handed back to the assistant." });
      }
    });
    socket.addEventListener("close", function (event) {
      live.setAttribute("data-state", "closed");
      live.querySelector(".live__text").textContent = "reconnecting";
      if (event.code === 4401) { window.location.assign("/console/login?next=" + encodeURIComponent(window.location.pathname)); return; }
      // Signed out meanwhile (session expired)? Any API call then goes to the sign-in page.
      api("GET", "/api/handoffs").catch(function () {});
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  if (PAGE === "ticket") setupTicketPage();
  if (PAGE === "tickets") setupTicketsPage();
  if (PAGE === "queue" || PAGE === "ticket" || PAGE === "callbacks" || PAGE === "tickets") connect();
})();
