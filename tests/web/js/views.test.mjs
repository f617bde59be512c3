// The views' economies, without a browser: DOM writes skipped when they change
// nothing (views/dom.js), and following a panel's end (views/follow.js).

import assert from "node:assert/strict";
import { test } from "node:test";

import { setAttr, setClass, setText } from "../../../frontend/views/dom.js";
import { createFollower } from "../../../frontend/views/follow.js";

/** An element that counts the writes made to it. */
function fakeElement() {
  const attrs = new Map();
  const classes = new Set();
  let text = "";
  const el = {
    writes: 0,
    getAttribute: (name) => (attrs.has(name) ? attrs.get(name) : null),
    hasAttribute: (name) => attrs.has(name),
    setAttribute(name, value) {
      el.writes++;
      attrs.set(name, String(value));
    },
    removeAttribute(name) {
      el.writes++;
      attrs.delete(name);
    },
    get textContent() {
      return text;
    },
    set textContent(value) {
      el.writes++;
      text = String(value);
    },
    classList: {
      contains: (name) => classes.has(name),
      toggle(name, on) {
        el.writes++;
        if (on) classes.add(name);
        else classes.delete(name);
      },
    },
  };
  return el;
}

/** The part of a d3 selection the helpers use: each(fn(d, i, nodes)). */
function selectionOf(nodes, data) {
  return {
    each(fn) {
      nodes.forEach((node, i) => fn.call(node, data[i], i, nodes));
      return this;
    },
  };
}

test("setAttr writes a value once and leaves an unchanged one alone", () => {
  const els = [fakeElement(), fakeElement()];
  const sel = selectionOf(els, [3, 4]);
  assert.equal(setAttr(sel, "x", (d) => d * 10), sel);
  setAttr(sel, "x", (d) => d * 10);
  assert.deepEqual(els.map((el) => el.getAttribute("x")), ["30", "40"]);
  assert.deepEqual(els.map((el) => el.writes), [1, 1]);

  setAttr(sel, "x", (d, i) => (i === 0 ? 30 : 41));
  assert.deepEqual(els.map((el) => el.writes), [1, 2]);
  setAttr(sel, "x", null);
  assert.equal(els[0].hasAttribute("x"), false);
  setAttr(sel, "x", null);
  assert.deepEqual(els.map((el) => el.writes), [2, 3]);
});

test("setText replaces a text only when it changed", () => {
  const el = fakeElement();
  const sel = selectionOf([el], ["b7"]);
  setText(sel, (d) => d);
  setText(sel, (d) => d);
  assert.equal(el.textContent, "b7");
  assert.equal(el.writes, 1);
  setText(sel, "b8");
  setText(sel, null);
  assert.equal(el.textContent, "");
  assert.equal(el.writes, 3);
});

test("setClass toggles a class only when it should change", () => {
  const el = fakeElement();
  const sel = selectionOf([el], [{ final: true }]);
  setClass(sel, "finalized", (d) => d.final);
  setClass(sel, "finalized", (d) => d.final);
  assert.equal(el.classList.contains("finalized"), true);
  assert.equal(el.writes, 1);
  setClass(sel, "finalized", false);
  assert.equal(el.classList.contains("finalized"), false);
  assert.equal(el.writes, 2);
});

/** A scrolled panel: content of `size` px seen through a `view` px window. */
function fakeScroller(size, view) {
  const listeners = [];
  return {
    scrollLeft: 0, clientWidth: view, scrollWidth: size,
    addEventListener(type, fn) {
      if (type === "scroll") listeners.push(fn);
    },
    userScrolls(to) {
      this.scrollLeft = to;
      for (const fn of listeners) fn();
    },
  };
}

test("a follower keeps the newest in view until the viewer scrolls back", () => {
  const el = fakeScroller(1000, 300);
  const later = [];
  const follower = createFollower(el, "x", { schedule: (jump) => later.push(jump) });
  const runLater = () => later.splice(0).forEach((jump) => jump());

  follower.contentChanged();
  assert.equal(el.scrollLeft, 0, "the jump waits until after the frame");
  runLater();
  assert.equal(el.scrollLeft, 700);

  el.scrollWidth = 1200;  // the tree grew by two epochs
  follower.contentChanged();
  runLater();
  assert.equal(el.scrollLeft, 900);

  el.userScrolls(200);   // the viewer looks back at older epochs
  assert.equal(follower.isFollowing(), false);
  el.scrollWidth = 1400;
  follower.contentChanged();
  runLater();
  assert.equal(el.scrollLeft, 200, "the viewer's place is kept");

  el.userScrolls(1080);  // back to within the slack of the end
  assert.equal(follower.isFollowing(), true);
  follower.contentChanged();
  runLater();
  assert.equal(el.scrollLeft, 1100);
});
