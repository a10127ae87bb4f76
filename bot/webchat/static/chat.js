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

  function scrollToEnd() { list.scrollTop = list.scrollHeight; }

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
        if (status.handoff && status.handoff.wait) bannerWait.textContent = status.handoff.wait;
        bannerWait.hidden = !bannerWait.textContent;
        banner.hidden = false;
      } else {
        banner.hidden = true;
        bannerWait.textContent = "";
      }
    }
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  function setTyping(on) {
    typing.hidden = !on;
    if (on) scrollToEnd();
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
      }, function (err) {
        // Nothing was sent: take the bubble back and give the customer their words back.
        bubble.remove();
        showError(err.status === 413 ? TOO_LONG : err.status === 429 ? TOO_FAST : err.status === 409 ? STALE : UNREACHABLE);
        if (restore.text !== undefined && !box.value) box.value = restore.text;
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
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value;
    if (!text.trim()) {
      box.focus();
      return;
    }
    box.value = "";
    autosize();
    send(text, text, { text: text });
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
