/* Northwind web chat: the customer's side. Vanilla JS, no dependencies.
 *
 * The server starts the conversation (POST api/conversations) and keeps it in an HttpOnly
 * cookie, which is what lets this browser read and write it: a reload shows the same
 * conversation. The id (not a secret) is also kept in localStorage and sent with each
 * message, so a tab still showing a conversation that another tab replaced gets a 409
 * instead of writing into the new one. Messages go to POST api/messages; the history comes from GET
 * api/history; a WebSocket (ws) brings messages from a colleague in real time. Every text
 * is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "northwind-chat-conversation-id";
  var UNREACHABLE = "We couldn't reach the assistant, please try again.";
  var TOO_LONG = "That message is too long to send. Please shorten it and try again.";
  var TOO_FAST = "You're sending messages faster than we can answer. Please wait a moment and try again.";
  var STALE = "This conversation was replaced in another window. Please reload the page.";

  // The longest message sent in one go: MAX_CHARS characters (MAX_MESSAGE_CHARS in
  // bot/service/webchat/customer_api.py; the ticket keeps that much, actions/ticketing.py MAX_TEXT) in a body
  // the gateway accepts (MAX_BODY there, 16 KB; the rest of the body needs far less than 512 bytes).
  var MAX_CHARS = 10000;
  var MAX_BYTES = 16 * 1024 - 512;
  function cutNote(sent, left) {
    return "Your message was too long for one message (at most " + MAX_CHARS.toLocaleString("en-GB") +
      " characters), so we sent the first " + sent.toLocaleString("en-GB") + ". The other " +
      left.toLocaleString("en-GB") + " characters are still in the box: press Send to send them too.";
  }

  /* The hand-off banner's wording, in one place. `waiting`: a colleague will pick up soon;
   * `closed`: the hand-off marker said the centre is closed (open: false), so nobody will
   * read this tab tonight and the customer is told they may close it; `withAgent`: a
   * colleague has the conversation. The middle line is the wait the assistant gave. */
  var BANNER = {
    waiting: { title: "You're being connected to a colleague", hint: "You can keep writing here; your messages go to them." },
    closed: { title: "Our team will be in touch", hint: "You can close this window now: nothing else is needed from you. Keep your reference to ask how it's going." },
    withAgent: { title: "You're talking to our team", hint: "You can keep writing here; your messages go to them." }
  };

  // All URLs relative to where this script was served from ({base}/static/chat.js).
  var base = new URL("..", document.currentScript.src);
  function url(path) { return new URL(path, base).toString(); }

  var root = document.getElementById("chat");
  var list = document.getElementById("messages");
  var intro = document.getElementById("intro");
  var typing = document.getElementById("typing");
  var errorBox = document.getElementById("error");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var badge = document.getElementById("ticket-badge");
  var badgeId = document.getElementById("ticket-id");
  var banner = document.getElementById("handoff-banner");
  var bannerWait = document.getElementById("handoff-wait");
  var bannerTitle = document.getElementById("handoff-title");
  var bannerHint = document.getElementById("handoff-hint");
  var bannerToggle = document.getElementById("handoff-toggle");
  var bannerDetails = document.getElementById("handoff-details");
  var lengthNote = document.getElementById("length-note");

  var state = { handedOff: false, queue: Promise.resolve(), pending: 0 };

  // ---- conversation id ------------------------------------------------------------
  var conversation = { id: null };

  function useConversation(id) {
    conversation.id = id;
    root.setAttribute("data-conversation-id", id);
    try { window.localStorage.setItem(STORAGE_KEY, id); } catch (e) { /* storage disabled */ }
  }

  function getJson(res) {
    if (res.ok) return res.json();
    var err = new Error("HTTP " + res.status);
    err.status = res.status;
    throw err;
  }

  function startConversation() {
    return fetch(url("api/conversations"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: "{}"
    }).then(getJson).then(function (data) { useConversation(data.conversation_id); });
  }

  // ---- rendering --------------------------------------------------------------------
  var WHO = { customer: "You", bot: "Assistant" };

  /* The newest message stays in view: the list is pinned to its end unless the customer
   * scrolled up to read, and stays pinned when anything around it changes height (the
   * hand-off banner appearing, the typing line, an error, the composer growing). */
  var pinned = true;
  function scrollToEnd() { pinned = true; list.scrollTop = list.scrollHeight; }
  // After a change of layout around the list; reading scrollHeight lays the page out now.
  function stayAtEnd() { if (pinned) list.scrollTop = list.scrollHeight; }
  list.addEventListener("scroll", function () {
    pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  });
  if (typeof window.ResizeObserver === "function") {
    new window.ResizeObserver(stayAtEnd).observe(list);
  }

  function timeElement(at) {
    var when = typeof at === "number" ? new Date(at * 1000) : new Date();
    var t = document.createElement("time");
    t.className = "msg__time";
    t.dateTime = when.toISOString();
    t.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return t;
  }

  function addMessage(message) {
    var role = message.role === "customer" || message.role === "agent" ? message.role : "bot";
    var item = document.createElement("li");
    item.className = "msg msg--" + role;

    var who = document.createElement("span");
    who.className = "msg__who";
    who.textContent = role === "agent" ? (message.agent || "Colleague") + " \u00b7 Northwind" : WHO[role];
    if (role !== "agent") who.classList.add("visually-hidden");

    var bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    var text = document.createElement("p");
    text.className = "msg__text";
    text.textContent = message.text || "";
    bubble.appendChild(text);
    bubble.appendChild(timeElement(message.at));

    item.appendChild(who);
    item.appendChild(bubble);
    list.appendChild(item);
    intro.hidden = true;
    if (message.buttons && message.buttons.length && !state.handedOff) {
      showChoices(message.buttons);
    }
    scrollToEnd();
    return item;
  }

  function removeChoices() {
    var old = list.querySelectorAll(".choices");
    for (var i = 0; i < old.length; i++) old[i].remove();
  }

  function showChoices(buttons) {
    removeChoices();
    var item = document.createElement("li");
    item.className = "choices";
    var group = document.createElement("div");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested answers");
    buttons.forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "choice";
      btn.textContent = b.title;
      btn.addEventListener("click", function () {
        // The payload goes to the assistant; the customer sees what they clicked.
        send(b.payload, b.title, { buttons: buttons });
        box.focus();
      });
      group.appendChild(btn);
    });
    item.appendChild(group);
    list.appendChild(item);
    scrollToEnd();
  }

  function renderAll(history) {
    list.textContent = "";
    (history.messages || []).forEach(addMessage);
    intro.hidden = (history.messages || []).length > 0;
    applyStatus(history);
  }

  // ---- the hand-off banner ------------------------------------------------------------
  // Collapsed to its title line on small screens (the wait is also in the conversation).
  var compact = window.matchMedia ? window.matchMedia("(max-width: 560px), (max-height: 560px)") : { matches: false };

  function setBannerOpen(open) {
    bannerDetails.hidden = !open;
    bannerToggle.setAttribute("aria-expanded", String(open));
    bannerToggle.textContent = open ? "Hide details" : "Details";
  }
  bannerToggle.addEventListener("click", function () {
    setBannerOpen(bannerDetails.hidden);
    stayAtEnd();
  });

  function showBanner(handoff) {
    var kind = handoff && handoff.agent ? "withAgent" : handoff && handoff.closed ? "closed" : "waiting";
    if (handoff) state.bannerKind = kind;
    var words = BANNER[state.bannerKind || "waiting"];
    bannerTitle.textContent = words.title;
    bannerHint.textContent = words.hint;
    root.setAttribute("data-handoff", state.bannerKind || "waiting");
    if (handoff && handoff.wait) bannerWait.textContent = handoff.wait;
    bannerWait.hidden = !bannerWait.textContent;
    if (banner.hidden) setBannerOpen(!compact.matches);
    banner.hidden = false;
    stayAtEnd();
  }

  function hideBanner() {
    banner.hidden = true;
    bannerWait.textContent = "";
    state.bannerKind = null;
    root.removeAttribute("data-handoff");
    stayAtEnd();
  }

  function applyStatus(status) {
    if (status.ticket_id) {
      badgeId.textContent = status.ticket_id;
      badge.hidden = false;
    }
    if (typeof status.handed_off === "boolean") {
      state.handedOff = status.handed_off;
      root.setAttribute("data-handed-off", String(status.handed_off));
      if (status.handed_off) {
        removeChoices();
        showBanner(status.handoff);
      } else {
        hideBanner();
      }
    }
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    stayAtEnd();
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  function setTyping(on) {
    typing.hidden = !on;
    if (on) scrollToEnd();
    else stayAtEnd();
  }

  // ---- talking to the server ----------------------------------------------------------
  function postMessage(text) {
    var body = { text: text };
    if (conversation.id) body.conversation_id = conversation.id;
    return fetch(url("api/messages"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(getJson);
  }

  /* One customer turn. `payload` goes to the assistant, `shown` is the customer's bubble.
   * Turns are sent one after another, so replies stay in order. */
  function send(payload, shown, restore) {
    clearError();
    removeChoices();
    var bubble = addMessage({ role: "customer", text: shown });
    bubble.classList.add("msg--pending");
    state.pending += 1;
    var turn = state.queue.then(function () {
      setTyping(!state.handedOff);
      return postMessage(payload).then(function (data) {
        bubble.classList.remove("msg--pending");
        (data.messages || []).forEach(function (m) { m.role = "bot"; addMessage(m); });
        applyStatus(data);
        scrollToEnd();
      }, function (err) {
        // Nothing was sent: take the bubble back and give the customer their words back.
        bubble.remove();
        showError(err.status === 413 ? TOO_LONG : err.status === 429 ? TOO_FAST : err.status === 409 ? STALE : UNREACHABLE);
        if (restore.text !== undefined && box.value === (restore.rest || "")) {
          box.value = restore.text + (restore.rest || "");
          showLengthNote("");
          autosize();
        }
        if (restore.buttons) showChoices(restore.buttons);
      });
    }).then(function () {
      state.pending -= 1;
      if (!state.pending) setTyping(false);
    });
    state.queue = turn;
    return turn;
  }

  /* The conversation this browser's cookie names; a new one when there is none (401). */
  function loadHistory() {
    return fetch(url("api/history"), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(getJson).then(function (history) {
      useConversation(history.conversation_id);
      renderAll(history);
      clearError();
    }, function (err) {
      if (err.status === 401 && !everConnected) {
        return startConversation().then(function () { renderAll({ messages: [] }); });
      }
      throw err;
    }).catch(function () {
      showError("We couldn't load your conversation just now. You can still write to us.");
    });
  }

  // ---- live messages from a colleague ---------------------------------------------------
  var socket = null;
  var retryDelay = 1000;
  var everConnected = false;

  function connectLive() {
    // The cookie names the conversation: nothing in the URL.
    var wsUrl = new URL("ws", base);
    wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
    root.setAttribute("data-live", "connecting");
    socket = new WebSocket(wsUrl.toString());
    socket.addEventListener("open", function () {
      retryDelay = 1000;
      if (everConnected) {
        // Whatever arrived while we were disconnected is in the history.
        state.queue = state.queue.then(loadHistory);
      }
      everConnected = true;
      root.setAttribute("data-live", "open");
    });
    socket.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message" && data.role === "agent") {
        addMessage(data);
      } else if (data.type === "status") {
        applyStatus(data);
      } else if (data.type === "state" && (data.state === "resolved" || data.state === "handed_back")) {
        // The agent resolved the ticket or passed the customer back: the assistant answers
        // again (the message saying so came just before, as the agent's).
        applyStatus({ handed_off: false, ticket_id: data.ticket_id });
        root.setAttribute("data-state", data.state);
      }
    });
    socket.addEventListener("close", function () {
      root.setAttribute("data-live", "closed");
      socket = null;
      window.setTimeout(connectLive, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  // ---- the composer -------------------------------------------------------------------
  /* A text longer than one message may be is split where it may be cut (never inside a
   * surrogate pair): the first part is sent, the rest stays in the box, and the note says so. */
  function jsonBytes(code) {
    // What one UTF-16 unit costs in the JSON body: escapes for quotes, backslashes and
    // control characters, else its UTF-8 length (a surrogate pair is 4 bytes, 2 each).
    if (code === 0x22 || code === 0x5c) return 2;
    if (code < 0x20) return 6;
    if (code < 0x80) return 1;
    if (code < 0x800) return 2;
    if (code >= 0xd800 && code <= 0xdfff) return 2;
    return 3;
  }

  function splitAt(text) {
    var end = 0, bytes = 0, limit = Math.min(text.length, MAX_CHARS);
    while (end < limit) {
      bytes += jsonBytes(text.charCodeAt(end));
      if (bytes > MAX_BYTES) break;
      end += 1;
    }
    if (end === text.length) return [text, ""];
    var code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end -= 1;  // never between the halves of a pair
    return [text.slice(0, end), text.slice(end)];
  }

  function showLengthNote(message) {
    lengthNote.textContent = message || "";
    lengthNote.hidden = !message;
    stayAtEnd();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var parts = splitAt(box.value);
    var text = parts[0];
    if (!text.trim()) {
      box.focus();
      return;
    }
    box.value = parts[1];
    autosize();
    showLengthNote(parts[1] ? cutNote(text.length, parts[1].length) : "");
    send(text, text, { text: text, rest: parts[1] });
  });

  box.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  function autosize() {
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 160) + "px";
    stayAtEnd();
  }
  box.addEventListener("input", autosize);

  // ---- start ------------------------------------------------------------------------
  var ready = loadHistory();
  state.queue = ready;
  ready.then(function () {
    root.setAttribute("data-ready", "true");
    connectLive();
  });
})();
