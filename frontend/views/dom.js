// DOM writes that are skipped when they would change nothing.
//
// The views redraw from the model several times a second and most of what
// they draw is unchanged since the last time. d3's .attr() and .text() write
// anyway, and the browser then treats the element as changed: a replaced text
// node or an SVG length set again means style, layout and paint work for it
// (bench/dashboard_render.py counted over 20,000 such writes a second with 7
// nodes). These helpers read first, which costs no layout, and write only a
// real change. Use them with selection.call: sel.call(setAttr, "x", fn).

function valueOf(value, node, d, i, nodes) {
  return typeof value === "function" ? value.call(node, d, i, nodes) : value;
}

/** Like selection.attr(name, value), without writing unchanged values. */
export function setAttr(selection, name, value) {
  selection.each(function (d, i, nodes) {
    const v = valueOf(value, this, d, i, nodes);
    if (v == null) {
      if (this.hasAttribute(name)) this.removeAttribute(name);
      return;
    }
    const text = String(v);
    if (this.getAttribute(name) !== text) this.setAttribute(name, text);
  });
  return selection;
}

/** Like selection.text(value), without replacing an unchanged text. */
export function setText(selection, value) {
  selection.each(function (d, i, nodes) {
    const v = valueOf(value, this, d, i, nodes);
    const text = v == null ? "" : String(v);
    if (this.textContent !== text) this.textContent = text;
  });
  return selection;
}

/** Like selection.classed(name, on), without touching an unchanged class list. */
export function setClass(selection, name, on) {
  selection.each(function (d, i, nodes) {
    const want = Boolean(valueOf(on, this, d, i, nodes));
    if (this.classList.contains(name) !== want) this.classList.toggle(name, want);
  });
  return selection;
}
