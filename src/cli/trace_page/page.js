// The trace page's script (embedded in every page `pflow trace show --html` writes).
// It lays out the data that trace_page.ts computed: every string goes into the
// document as text (textContent), never as markup.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("pflow-data").textContent);
  const app = document.getElementById("app");
  const axis = data.axis_ms > 0 ? data.axis_ms : 1;
  const MARKS = { success: "✓", error: "✗", interrupted: "⚠" };

  /** An element with a class and text (as text, never markup). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(ms) {
    return (Math.max(0, Math.min(ms, axis)) / axis) * 100;
  }

  /** A value as text: strings as they are, anything else as indented JSON. */
  function show(value) {
    if (typeof value === "string") return value;
    if (value === undefined) return "(absent)";
    return JSON.stringify(value, null, 2);
  }

  function pre(value) {
    return el("pre", null, show(value));
  }

  function factList(facts, warnings) {
    const dl = el("dl", "facts");
    for (const [label, value] of facts) {
      const pair = el("div", "fact");
      const dd = el("dd", warnings && warnings.includes(label) ? "warn" : null, value);
      // A status from the file is a class only when it is one word (a class token cannot hold spaces).
      if (label === "status" && /^[\w-]+$/.test(value)) dd.classList.add("st-" + value);
      pair.append(el("dt", null, label), dd);
      dl.append(pair);
    }
    return dl;
  }

  // ---------------------------------------------------------------- header

  app.append(el("h1", null, "pflow trace"));
  for (const t of data.traces) {
    if (t.partial) {
      app.append(
        el(
          "p",
          "banner",
          "Partial trace: writing this " + t.kind + " trace failed part-way (a full disk, a size limit); " +
            "node executions after that are not in the file.",
        ),
      );
    } else if (!t.complete) {
      app.append(
        el(
          "p",
          "banner",
          "Incomplete trace: this " + t.kind + " run did not finish (crashed or still running). " +
            "The " + t.bars.filter((b) => b.kind === "node").length +
            " node executions recorded before it stopped are shown.",
        ),
      );
    }
  }
  const cards = el("section", "cards");
  cards.setAttribute("aria-label", "Runs");
  data.traces.forEach((t, ti) => {
    const card = el("div", "card");
    const h = el("h2");
    h.append(el("span", "kind", t.kind), el("span", null, t.title));
    const fields = el("button", "fields", "all fields");
    fields.type = "button";
    fields.title = "Show every header and footer field of this trace";
    fields.addEventListener("click", () => showTrace(ti));
    card.append(h, factList(t.facts, t.warnings), fields);
    cards.append(card);
  });
  app.append(cards);

  // ---------------------------------------------------------------- waterfall

  const layout = el("div", "layout");
  const left = el("section", "waterfall-section");
  left.append(el("h2", null, "Timeline"));
  const waterfall = el("div", "waterfall");
  const axisRow = el("div", "axis");
  axisRow.append(el("div", "name muted", "node"));
  const scale = el("div", "scale track");
  for (const tick of data.ticks) {
    // A label at the very end would run past the axis (or into the one before it).
    if (tick.ms > 0 && pct(tick.ms) > 92) continue;
    const mark = el("span", "tick", tick.label);
    mark.style.left = pct(tick.ms) + "%";
    scale.append(mark);
  }
  axisRow.append(scale);
  waterfall.append(axisRow);

  const rows = el("div", "rows");
  rows.tabIndex = 0;
  rows.setAttribute("role", "listbox");
  rows.setAttribute("aria-label", "Node executions and LLM calls; arrow keys move, Enter selects");
  const options = [];
  /** Each bar's label with the bar's start and end (% of the axis), placed by placeLabels. */
  const labels = [];
  const fragment = document.createDocumentFragment();
  data.traces.forEach((t, ti) => {
    if (data.traces.length > 1) {
      const group = el("div", "group");
      group.setAttribute("role", "presentation");
      group.dataset.trace = String(ti);
      group.append(el("span", null, t.kind + ": " + t.title + " (" + t.status + ")"));
      group.addEventListener("click", () => showTrace(ti));
      fragment.append(group);
    }
    t.bars.forEach((bar, bi) => {
      const row = el("div", "row " + bar.kind + " st-" + bar.status);
      row.id = "bar-" + ti + "-" + bi;
      row.setAttribute("role", "option");
      row.setAttribute("aria-selected", "false");
      row.dataset.trace = String(ti);
      row.dataset.bar = String(bi);
      row.dataset.kind = bar.kind;
      row.dataset.start = String(bar.start_ms);
      row.dataset.duration = String(bar.duration_ms);
      const name = el("div", "name");
      name.append(el("span", "mark st-" + bar.status, MARKS[bar.status] || "?"), el("span", "label", bar.label));
      if (bar.sub) name.append(el("span", "sub", bar.sub));
      name.title = bar.label + (bar.sub ? " (" + bar.sub + ")" : "");
      const track = el("div", "track");
      const b = el("div", "bar");
      const start = pct(bar.start_ms);
      const end = pct(bar.start_ms + bar.duration_ms);
      b.style.left = start + "%";
      b.style.width = end - start + "%";
      const text = el("span", "bar-text", bar.text);
      labels.push({ text, row, start, end });
      track.append(b, text);
      row.append(name, track);
      row.addEventListener("click", () => {
        select(options.indexOf(row));
        rows.focus({ preventScroll: true });
      });
      options.push(row);
      fragment.append(row);
    });
  });
  rows.append(fragment);
  waterfall.append(rows);
  left.append(waterfall);

  /**
   * Puts each label where it fits whole: after its bar, else before it, else
   * on the bar itself (a long bar that starts early: a one-node run's), drawn
   * taller to hold it, the text in the page's background colour and nothing
   * behind it, so the bar shows its whole length. A label that fits none of
   * these (a narrow window) goes on the wider side, cut with an ellipsis, its
   * whole text as a tooltip. Text widths come from a canvas (no layout of the rows).
   */
  function placeLabels() {
    const sample = labels[0] && labels[0].text;
    const width = sample ? sample.parentElement.clientWidth : 0;
    if (!(width > 0)) return;
    const style = getComputedStyle(sample);
    const context = document.createElement("canvas").getContext("2d");
    if (context) context.font = style.font;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) || 0;
    for (const label of labels) {
      const need = (context ? context.measureText(label.text.textContent).width : label.text.textContent.length * 7) +
        padding;
      const after = ((100 - label.end) / 100) * width;
      const before = (label.start / 100) * width;
      const bar = ((label.end - label.start) / 100) * width;
      const place = after >= need
        ? "after"
        : before >= need
        ? "before"
        : bar >= need
        ? "inside"
        : after >= before
        ? "after"
        : "before";
      const cut = place !== "inside" && (place === "after" ? after : before) < need;
      label.text.classList.toggle("before", place === "before");
      label.text.classList.toggle("inside", place === "inside");
      label.row.classList.toggle("label-inside", place === "inside");
      label.text.classList.toggle("cut", cut);
      label.text.style.maxWidth = cut ? Math.max(0, place === "after" ? after : before) + "px" : "";
      if (cut) label.text.title = label.text.textContent;
      else label.text.removeAttribute("title");
      label.text.style.left = (place === "before" ? label.start : label.end) + "%";
    }
  }
  let placing = 0;
  addEventListener("resize", () => {
    cancelAnimationFrame(placing);
    placing = requestAnimationFrame(placeLabels);
  });
  addEventListener("beforeprint", placeLabels);
  left.append(
    el("p", "hint", "Click a bar, or focus the timeline and use ↑ ↓ Home End to select; details on the right."),
  );
  const details = el("aside", "details empty");
  details.setAttribute("aria-live", "polite");
  details.setAttribute("aria-label", "Details");
  details.append(el("h2", null, "Details"), el("p", "muted", "Select a bar to see its node or LLM call."));
  layout.append(left, details);
  app.append(layout);

  let selected = -1;
  function select(index) {
    if (options.length === 0) return;
    const i = Math.max(0, Math.min(options.length - 1, index));
    if (selected >= 0) options[selected].setAttribute("aria-selected", "false");
    selected = i;
    const row = options[i];
    row.setAttribute("aria-selected", "true");
    rows.setAttribute("aria-activedescendant", row.id);
    row.scrollIntoView({ block: "nearest" });
    const t = data.traces[Number(row.dataset.trace)];
    showBar(t, t.bars[Number(row.dataset.bar)]);
  }

  rows.addEventListener("keydown", (event) => {
    const page = Math.max(1, Math.floor(rows.clientHeight / 22) || 10);
    const moves = {
      ArrowDown: selected + 1,
      ArrowUp: selected - 1,
      Home: 0,
      End: options.length - 1,
      PageDown: selected + page,
      PageUp: selected - page,
      Enter: selected < 0 ? 0 : selected,
      " ": selected < 0 ? 0 : selected,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    select(selected < 0 && event.key === "ArrowDown" ? 0 : moves[event.key]);
  });
  rows.addEventListener("focus", () => {
    if (selected < 0 && options.length > 0) select(0);
  });

  // ---------------------------------------------------------------- details

  function section(title, body) {
    details.append(el("h3", null, title));
    details.append(body);
  }

  function resetDetails(title) {
    details.replaceChildren();
    details.classList.remove("empty");
    details.append(el("h2", null, title));
  }

  function table(headers, lines) {
    const tableEl = el("table");
    const head = el("tr");
    for (const h of headers) head.append(el("th", null, h));
    tableEl.append(head);
    for (const cells of lines) {
      const tr = el("tr");
      for (const cell of cells) {
        const td = el("td", "mono");
        td.textContent = cell;
        tr.append(td);
      }
      tableEl.append(tr);
    }
    return tableEl;
  }

  function callMessages(call, into, open) {
    const box = el("details");
    if (open) box.open = true;
    box.append(el("summary", null, "prompt and response"));
    if (call.system !== null && call.system !== undefined) {
      box.append(el("h3", null, "system"), pre(call.system));
    }
    for (const m of call.messages || []) box.append(el("h3", null, m.role), pre(m.content));
    if (call.thinking) box.append(el("h3", null, "thinking"), pre(call.thinking));
    box.append(el("h3", null, "response"), pre(call.response === "" ? "(empty)" : call.response));
    if (call.object !== undefined && call.object !== null) {
      box.append(el("h3", null, "parsed object"), pre(call.object));
    }
    if (call.error) box.append(el("h3", null, "error"), pre(call.error));
    into.append(box);
  }

  function showBar(t, bar) {
    const event = t.doc.events[bar.event];
    if (bar.kind === "llm") {
      const call = event.llm_calls[bar.call];
      resetDetails("LLM call · " + bar.label + (bar.sub ? " · " + bar.sub : ""));
      details.append(el("p", "muted", "in node " + event.node_id + " (" + t.kind + ": " + t.title + ")"));
      details.append(factList(bar.facts));
      callMessages(call, details, true);
      return;
    }
    resetDetails(bar.label);
    details.append(factList(bar.facts));
    // The run's error names its node: that node's last execution, when it failed, is what ended the run.
    const endedRun = t.doc.error && t.doc.error.node_id === event.node_id && bar.status === "error" &&
      !t.doc.events.some((e) => e.node_id === event.node_id && e.execution_index > event.execution_index);
    if (event.error) {
      const err = el("pre", "error-text", (event.error.type ? event.error.type + ": " : "") + event.error.message);
      section(endedRun ? "error (ended the run)" : "error", err);
      if (event.error.stack) section("stack", pre(event.error.stack));
    } else if (endedRun) {
      section("error (ended the run)", el("pre", "error-text", t.doc.error.message));
    }
    section(event.item_params ? "params (as written)" : "params (resolved)", pre(event.params || {}));
    if (event.item_params) section("params per item (resolved)", pre(event.item_params));
    const resolutions = event.template_resolutions || [];
    const resolutionTable = table(
      ["param", "template", "value", "item"],
      resolutions.map((
        r,
      ) => [r.param, show(r.template), show(r.value), r.item_index === undefined ? "" : String(r.item_index)]),
    );
    resolutionTable.classList.add("resolutions");
    section("template resolutions", resolutions.length ? resolutionTable : el("p", "muted", "(none)"));
    const mutations = event.mutations || [];
    const list = el("div", "mutations");
    for (const m of mutations) {
      const item = el("div", "mutation");
      const head = el("p", "mono");
      head.append(el("strong", m.op === "delete" ? "error-text" : "st-success", m.op), " " + m.path);
      item.append(head);
      if ("before" in m) item.append(el("div", "muted", "before"), pre(m.before));
      if ("after" in m) item.append(el("div", "muted", "after"), pre(m.after));
      list.append(item);
    }
    section("mutations", mutations.length ? list : el("p", "muted", "(none)"));
    const calls = event.llm_calls || [];
    if (calls.length) {
      const box = el("div");
      calls.forEach((call, c) => {
        const callBar = t.bars.find((b) => b.kind === "llm" && b.event === bar.event && b.call === c);
        box.append(el("h3", null, "[" + (c + 1) + "] " + call.model + (callBar ? " · " + callBar.text : "")));
        callMessages(call, box, calls.length === 1);
      });
      section("LLM calls", box);
    }
  }

  function showTrace(ti) {
    const t = data.traces[ti];
    resetDetails(t.kind + ": " + t.title);
    details.append(factList(t.facts, t.warnings));
    const fields = {};
    for (const [key, value] of Object.entries(t.doc)) if (key !== "events") fields[key] = value;
    section("header and footer fields", pre(fields));
  }

  // ---------------------------------------------------------------- costs

  const costs = el("section", "cost-section");
  costs.append(el("h2", null, "Cost"));
  for (const t of data.traces) {
    const group = el("div", "costs");
    group.dataset.trace = String(data.traces.indexOf(t));
    for (const [view, lines] of [["node", t.cost.by_node], ["model", t.cost.by_model]]) {
      const box = el("div", "cost-table");
      box.dataset.view = view;
      box.append(el("h3", null, (data.traces.length > 1 ? t.kind + ": " + t.title + " · " : "") + "cost by " + view));
      const max = Math.max(0, ...lines.map((l) => l.usd || 0));
      if (lines.length === 0) box.append(el("p", "muted", "no LLM calls"));
      for (const line of lines) {
        const row = el("div", "cost-line");
        row.dataset.usd = line.usd === null ? "" : String(line.usd);
        const label = el("span", "cost-label", line.label);
        label.title = line.label;
        const track = el("span", "cost-track");
        const bar = el("span", "cost-bar");
        bar.style.display = "block";
        bar.style.width = (max > 0 && line.usd ? (line.usd / max) * 100 : 0) + "%";
        track.append(bar);
        const calls = line.calls + " call" + (line.calls === 1 ? "" : "s");
        row.append(label, track, el("span", "mono", line.text + " · " + calls));
        box.append(row);
      }
      if (lines.length) {
        const total = el("div", "cost-line total");
        total.dataset.usd = String(t.cost.total_usd);
        total.append(el("span", null, "total"), el("span"), el("span", "mono total-text", t.cost.total_text));
        box.append(total);
      }
      if (t.cost.unpriced.length) {
        box.append(el("p", "warn-text", "unpriced (tokens counted, cost not): " + t.cost.unpriced.join(", ")));
      }
      group.append(box);
    }
    costs.append(group);
  }
  if (data.traces.length > 1) {
    const all = el("p", "cost-line total run-total");
    all.append(el("span", null, "all traces"), el("span"), el("span", "mono total-text", data.total_text));
    costs.append(all);
  }
  app.append(costs);
  app.append(
    el("p", "hint", "Written by pflow " + data.pflow_version + " from " + data.traces.map((t) => t.file).join(", ")),
  );
  placeLabels();
  app.setAttribute("aria-busy", "false");
  performance.mark("pflow:rendered");
})();
