// Draws the report from the JSON in #report-data as inline SVG. No library and no network:
// the page must open as it is, offline, years from now. Every mark carries its numbers in an
// SVG <title> (shown on hover) and in data- attributes (read back by the browser test).
(function () {
  "use strict";
  var errors = document.getElementById("errors");
  // Any error is shown on the page: the browser test checks that #errors stays empty.
  window.onerror = function (message, source, line, column) {
    errors.textContent += message + " (line " + line + ":" + column + ")\n";
  };
  window.addEventListener("unhandledrejection", function (event) {
    errors.textContent += "unhandled rejection: " + event.reason + "\n";
  });

  var NS = "http://www.w3.org/2000/svg";
  // The drawing width: full-width charts are 900 wide, those two abreast 600, so that their
  // text is as large as the others'.
  var WIDTH = 900;
  var MARGIN = { left: 56, right: 16, top: 10, bottom: 26 };
  var SERIES = 10;

  function element(tag, attributes, parent, text) {
    var node = document.createElement(tag);
    setAll(node, attributes);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function shape(tag, attributes, parent, tip) {
    var node = document.createElementNS(NS, tag);
    setAll(node, attributes);
    if (tip) {
      var title = document.createElementNS(NS, "title");
      title.textContent = tip;
      node.appendChild(title);
    }
    parent.appendChild(node);
    return node;
  }

  function setAll(node, attributes) {
    for (var key in attributes || {}) {
      if (attributes[key] !== undefined && attributes[key] !== null) {
        node.setAttribute(key, attributes[key]);
      }
    }
  }

  function integer(number) {
    return Math.round(number).toLocaleString("en-US");
  }

  function decimal(number) {
    if (number === null || number === undefined) return "–";
    if (Math.abs(number) >= 1000 || Number.isInteger(number)) return integer(number);
    return Number(number.toPrecision(4)).toLocaleString("en-US");
  }

  // µs as a readable duration.
  function duration(micros) {
    if (micros >= 60e6) return (micros / 60e6).toFixed(1) + " min";
    if (micros >= 1e6) return (micros / 1e6).toFixed(2) + " s";
    if (micros >= 1e3) return (micros / 1e3).toFixed(1) + " ms";
    return Math.round(micros) + " µs";
  }

  function scale(d0, d1, r0, r1) {
    var span = d1 - d0 || 1;
    return function (value) {
      return r0 + ((value - d0) / span) * (r1 - r0);
    };
  }

  // Round tick values from 0 (or min) to max.
  function ticks(min, max, count) {
    var span = max - min;
    if (!(span > 0)) return [min];
    var step = Math.pow(10, Math.floor(Math.log10(span / count)));
    var err = span / count / step;
    if (err >= 7.5) step *= 10;
    else if (err >= 3.5) step *= 5;
    else if (err >= 1.5) step *= 2;
    var out = [];
    for (var value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
      out.push(Number(value.toPrecision(12)));
    }
    return out;
  }

  function section(title, note) {
    var root = document.getElementById("report");
    var part = element("section", {}, root);
    element("h2", {}, part, title);
    if (note) element("p", { class: "note" }, part, note);
    return part;
  }

  // A figure with a title, a caption and an SVG of the given inner height.
  function figure(parent, name, title, caption, height, attributes) {
    var node = element("figure", attributes || {}, parent);
    node.setAttribute("data-chart", name);
    element("h3", {}, node, title);
    if (caption) element("figcaption", {}, node, caption);
    var svg = shape("svg", {
      viewBox: "0 0 " + WIDTH + " " + (height + MARGIN.top + MARGIN.bottom),
      role: "img",
      "aria-label": title,
    }, node);
    return { node: node, svg: svg, height: height };
  }

  function axes(chart, x, y, xTicks, yTicks, xFormat, yFormat) {
    var g = shape("g", { class: "axis" }, chart.svg);
    var bottom = MARGIN.top + chart.height;
    yTicks.forEach(function (value) {
      var at = y(value);
      shape("line", { class: "grid-line", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: at, y2: at }, g);
      shape("text", { x: MARGIN.left - 6, y: at + 4, "text-anchor": "end" }, g).textContent = yFormat(value);
    });
    xTicks.forEach(function (value) {
      var at = x(value);
      shape("line", { x1: at, x2: at, y1: bottom, y2: bottom + 4 }, g);
      shape("text", { x: at, y: bottom + 16, "text-anchor": "middle" }, g).textContent = xFormat(value);
    });
    shape("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: bottom, y2: bottom }, g);
  }

  function legend(parent, entries) {
    var box = element("div", { class: "legend" }, parent);
    entries.forEach(function (entry) {
      element("span", { style: "--swatch: " + entry[1] }, box, entry[0]);
    });
  }

  function color(index) {
    return "var(--s" + (index % SERIES) + ")";
  }

  function cards(parent, items) {
    var box = element("div", { class: "cards" }, parent);
    items.forEach(function (item) {
      var card = element("div", { class: "card", "data-metric": item[0], "data-value": item[2] }, box);
      element("div", { class: "value" }, card, item[3] !== undefined ? item[3] : decimal(item[2]));
      element("div", { class: "label" }, card, item[1]);
    });
  }

  function quantile(sorted, q) {
    if (!sorted.length) return 0;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  // ---- The run of the trace -------------------------------------------------------------

  function drawRun(run) {
    var totals = run.totals || {};
    var requests = run.requests;
    var end = totals.wall_us || 0;
    requests.forEach(function (r) { end = Math.max(end, r[1] + r[2]); });
    var durations = requests.map(function (r) { return r[2]; }).sort(function (a, b) { return a - b; });
    var part = section(
      "The run" + (totals.run_id ? " " + totals.run_id : ""),
      (totals.status === "failed" ? "Failed: " + (totals.error || "") + " · " : "") +
        (run.origin ? "API: " + run.origin + " · " : "") + "concurrency " + (totals.concurrency || "?")
    );
    var wallSeconds = (totals.wall_us || end) / 1e6;
    cards(part, [
      ["wall", "wall time", (totals.wall_us || end) / 1e6, duration(totals.wall_us || end)],
      ["requests", "requests", requests.length],
      ["pages", "pages", totals.pages || 0],
      ["records", "records", totals.records || 0],
      ["retries", "retries", totals.retries || 0],
      ["throughput", "requests / s", wallSeconds > 0 ? requests.length / wallSeconds : 0],
      ["p50", "median latency", quantile(durations, 0.5) / 1000, duration(quantile(durations, 0.5))],
      ["p99", "p99 latency", quantile(durations, 0.99) / 1000, duration(quantile(durations, 0.99))],
    ]);
    drawTime(part, totals);
    drawWaterfall(part, run, end);
    var grid = element("div", { class: "grid" }, part);
    WIDTH = 600;
    drawInFlight(grid, run, end);
    drawThroughput(grid, requests, end);
    drawQueued(grid, run, end);
    drawLatency(grid, durations);
    drawKinds(grid, run);
    WIDTH = 900;
  }

  function drawTime(parent, totals) {
    var parts = [
      ["fetching", "in requests", totals.request_us || 0, "var(--ok)"],
      ["api", "waiting on the API (backoff, Retry-After, rate limits)", totals.waited_us || 0, "var(--retry)"],
      ["reducers", "waiting on reducers (the channel was full)", totals.consumer_wait_us || 0, "var(--fail)"],
    ];
    var sum = parts.reduce(function (acc, p) { return acc + p[2]; }, 0);
    var chart = figure(parent, "time", "Where the time went",
      "Summed over every request and chain: requests overlap, so the sum exceeds the wall time. " +
      "A large share waiting on the API means it throttles; on reducers, that reducing holds fetching back.", 34);
    var x = scale(0, sum || 1, MARGIN.left, WIDTH - MARGIN.right);
    var at = 0;
    parts.forEach(function (p) {
      var share = sum ? (100 * p[2]) / sum : 0;
      var rect = shape("rect", {
        class: "bar", x: x(at), y: MARGIN.top, width: Math.max(0, x(at + p[2]) - x(at)), height: 30,
        fill: p[3], "data-part": p[0], "data-value": (p[2] / 1e6).toFixed(3),
      }, chart.svg, p[1] + ": " + duration(p[2]) + " (" + share.toFixed(1) + "%)");
      if (x(at + p[2]) - x(at) > 90) {
        shape("text", { x: x(at) + 6, y: MARGIN.top + 19, style: "fill: #fff" }, chart.svg).textContent =
          duration(p[2]) + " · " + share.toFixed(0) + "%";
      }
      at += p[2];
      return rect;
    });
    legend(chart.node, parts.map(function (p) { return [p[1] + ": " + duration(p[2]), p[3]]; }));
  }

  var MAX_DRAWN = 30000;

  function drawWaterfall(parent, run, end) {
    var tracks = run.tracks;
    var row = {};
    tracks.forEach(function (track, index) { row[track.tid] = index; });
    var rows = Math.max(1, tracks.length);
    var rowHeight = Math.max(3, Math.min(16, Math.floor(520 / rows)));
    var height = rows * rowHeight;
    var drawn = run.requests.slice(0, MAX_DRAWN);
    var chart = figure(parent, "waterfall", "Requests over time, by chain",
      "A bar per request, from sending to its last byte, on its chain's track (lanes ·2, ·3 … where " +
      "a chain's requests overlap); a faint bar before it is the wait for a slot or the rate limit. " +
      (drawn.length < run.requests.length ? "The first " + integer(MAX_DRAWN) + " requests are drawn." : ""),
      height, { "data-count": drawn.length, "data-tracks": tracks.length });
    var x = scale(0, end || 1, MARGIN.left + 130, WIDTH - MARGIN.right);
    var y = function (tid) { return MARGIN.top + (row[tid] || 0) * rowHeight; };
    var timeTicks = ticks(0, end / 1e6, 8);
    axes(chart, function (s) { return x(s * 1e6); }, function () { return 0; }, timeTicks, [],
      function (s) { return s + " s"; }, String);
    var labels = shape("g", {}, chart.svg);
    tracks.forEach(function (track, index) {
      // A chain's extra lanes are labelled by their number only, under the chain's name.
      var lane = / ·\d+$/.exec(track.name);
      if (!lane || rowHeight >= 10) {
        var text = shape("text", { x: MARGIN.left + 124, y: MARGIN.top + index * rowHeight + rowHeight - 2, "text-anchor": "end" }, labels);
        text.textContent = lane ? lane[0].trim() : track.name.length > 30 ? track.name.slice(0, 29) + "…" : track.name;
        shape("title", {}, text).textContent = track.name;
      }
    });
    var waits = shape("g", { opacity: 0.35 }, chart.svg);
    (run.held_back || []).forEach(function (h) {
      shape("rect", { x: x(h[1]), y: y(h[0]) + 1, width: Math.max(1, x(h[1] + h[2]) - x(h[1])), height: Math.max(1, rowHeight - 2), fill: "var(--fail)" },
        waits, "waiting on reducers: " + duration(h[2]));
    });
    var marks = shape("g", {}, chart.svg);
    drawn.forEach(function (r) {
      var tid = r[0], start = r[1], dur = r[2], status = r[3], attempt = r[4], queued = r[5], kind = r[6];
      var fill = kind ? "var(--fail)" : attempt > 1 ? "var(--retry)" : "var(--ok)";
      var top = y(tid) + 1, h = Math.max(1, rowHeight - 2);
      if (queued > 0 && drawn.length <= 5000) {
        shape("rect", { x: x(start - queued), y: top + h / 3, width: Math.max(0.5, x(start) - x(start - queued)), height: Math.max(1, h / 3), fill: "var(--wait)", opacity: 0.5 }, waits);
      }
      var tip = r[7] + " (" + (tracks[row[tid]] || { name: "" }).name + ")\nstart " + duration(start) +
        " · " + duration(dur) + (status ? " · HTTP " + status : "") + (attempt > 1 ? " · attempt " + attempt : "") +
        (queued ? "\nqueued " + duration(queued) : "") + (kind ? "\nfailed: " + kind : "");
      shape("rect", {
        class: "mark", x: x(start), y: top, width: Math.max(1, x(start + dur) - x(start)), height: h, fill: fill,
        "data-duration": dur, "data-status": status,
      }, marks, tip);
    });
    (run.marks || []).forEach(function (m) {
      var at = x(m[0]);
      shape("line", { x1: at, x2: at, y1: MARGIN.top, y2: MARGIN.top + height, stroke: "var(--accent)", "stroke-dasharray": "2 4", "stroke-width": 1, opacity: 0.7 },
        marks, m[1] + " at " + duration(m[0]));
    });
    legend(chart.node, [["request", "var(--ok)"], ["a retry that succeeded", "var(--retry)"], ["failed", "var(--fail)"],
      ["queued / waiting on reducers", "var(--wait)"], ["pause, concurrency change, checkpoint", "var(--accent)"]]);
  }

  function stepChart(parent, name, title, caption, points, lines, end, attributes) {
    var max = 1;
    points.forEach(function (p) { lines.forEach(function (l) { max = Math.max(max, p[l[0]] || 0); }); });
    var chart = figure(parent, name, title, caption, 150, attributes);
    var x = scale(0, end || 1, MARGIN.left, WIDTH - MARGIN.right);
    var y = scale(0, max, MARGIN.top + chart.height, MARGIN.top);
    axes(chart, function (s) { return x(s * 1e6); }, y, ticks(0, end / 1e6, 6), ticks(0, max, 4),
      function (s) { return s + " s"; }, decimal);
    lines.forEach(function (l) {
      var path = "";
      var previous = null;
      points.forEach(function (p) {
        var value = p[l[0]] || 0;
        path += (path ? "H" + x(p[0]).toFixed(1) + "V" : "M" + x(p[0]).toFixed(1) + ",") + y(value).toFixed(1);
        previous = value;
      });
      if (points.length) path += "H" + x(end).toFixed(1);
      shape("path", { d: path || "M0,0", fill: "none", stroke: l[2], "stroke-width": 1.6, "stroke-dasharray": l[3] || null }, chart.svg,
        l[1] + (previous !== null ? " (last " + previous + ")" : ""));
    });
    // Hover targets: the value at each sample.
    var g = shape("g", { opacity: 0 }, chart.svg);
    var every = Math.max(1, Math.floor(points.length / 300));
    points.forEach(function (p, index) {
      if (index % every) return;
      var next = points[index + every] ? points[index + every][0] : end;
      shape("rect", { x: x(p[0]), y: MARGIN.top, width: Math.max(1, x(next) - x(p[0])), height: chart.height },
        g, duration(p[0]) + ": " + lines.map(function (l) { return l[1] + " " + (p[l[0]] || 0); }).join(", "));
    });
    legend(chart.node, lines.map(function (l) { return [l[1], l[2]]; }));
    return chart;
  }

  function drawInFlight(parent, run, end) {
    var max = 0;
    run.in_flight.forEach(function (p) { max = Math.max(max, p[1]); });
    stepChart(parent, "in-flight", "Requests in flight",
      "Sampled every 10 ms; the dashed line is the concurrency limit, which AIMD lowers when the API throttles.",
      run.in_flight, [[1, "in flight", "var(--ok)"], [2, "limit", "var(--muted)", "4 3"]], end, { "data-max": max });
  }

  function drawQueued(parent, run, end) {
    var max = 0;
    run.queued.forEach(function (p) { max = Math.max(max, p[1]); });
    stepChart(parent, "queued", "Pages queued for the reducers",
      "The channel between fetching and reducing: full means the reducers hold fetching back (backpressure).",
      run.queued, [[1, "queued pages", "var(--s2)"]], end, { "data-max": max });
  }

  function drawThroughput(parent, requests, end) {
    var buckets = Math.min(60, Math.max(1, requests.length));
    var width = (end || 1) / buckets;
    var counts = new Array(buckets).fill(0);
    requests.forEach(function (r) {
      counts[Math.min(buckets - 1, Math.floor((r[1] + r[2]) / width))] += 1;
    });
    var max = Math.max.apply(null, counts.map(function (c) { return c / (width / 1e6); }).concat([1]));
    var chart = figure(parent, "throughput", "Throughput",
      "Requests completed per second, in " + duration(width) + " buckets.", 150,
      { "data-total": requests.length });
    var x = scale(0, end || 1, MARGIN.left, WIDTH - MARGIN.right);
    var y = scale(0, max, MARGIN.top + chart.height, MARGIN.top);
    axes(chart, function (s) { return x(s * 1e6); }, y, ticks(0, end / 1e6, 6), ticks(0, max, 4),
      function (s) { return s + " s"; }, decimal);
    counts.forEach(function (count, index) {
      var rate = count / (width / 1e6);
      shape("rect", {
        class: "bar", x: x(index * width) + 0.5, y: y(rate), width: Math.max(1, x(width) - x(0) - 1),
        height: MARGIN.top + chart.height - y(rate), fill: "var(--s5)", "data-count": count,
      }, chart.svg, duration(index * width) + "–" + duration((index + 1) * width) + ": " + count + " requests (" + decimal(rate) + "/s)");
    });
  }

  function drawLatency(parent, durations) {
    var count = durations.length;
    var top = Math.max(1, quantile(durations, 0.99) * 1.1);
    var buckets = 30;
    var width = top / buckets;
    var counts = new Array(buckets).fill(0);
    durations.forEach(function (d) { counts[Math.min(buckets - 1, Math.floor(d / width))] += 1; });
    var max = Math.max.apply(null, counts.concat([1]));
    var chart = figure(parent, "latency", "Latency distribution",
      "Requests by duration, sending to last byte; the last bar holds everything slower.", 150,
      { "data-count": count, "data-p50": quantile(durations, 0.5), "data-p99": quantile(durations, 0.99) });
    var x = scale(0, top, MARGIN.left, WIDTH - MARGIN.right);
    var y = scale(0, max, MARGIN.top + chart.height, MARGIN.top);
    axes(chart, function (ms) { return x(ms * 1e3); }, y, ticks(0, top / 1e3, 6), ticks(0, max, 4),
      function (ms) { return ms + " ms"; }, decimal);
    counts.forEach(function (n, index) {
      shape("rect", {
        class: "bar", x: x(index * width) + 0.5, y: y(n), width: Math.max(1, x(width) - x(0) - 1),
        height: MARGIN.top + chart.height - y(n), fill: "var(--s4)", "data-count": n,
      }, chart.svg, duration(index * width) + (index === buckets - 1 ? " and more" : "–" + duration((index + 1) * width)) + ": " + n + " requests");
    });
    [["p50", 0.5], ["p90", 0.9], ["p99", 0.99]].forEach(function (q) {
      var value = quantile(durations, q[1]);
      var at = x(Math.min(value, top));
      shape("line", { x1: at, x2: at, y1: MARGIN.top, y2: MARGIN.top + chart.height, stroke: "var(--fg)", "stroke-dasharray": "2 3" }, chart.svg, q[0] + " " + duration(value));
      shape("text", { x: at + 3, y: MARGIN.top + 10 }, chart.svg).textContent = q[0] + " " + duration(value);
    });
  }

  function drawKinds(parent, run) {
    var rows = [];
    Object.keys(run.retries).forEach(function (kind) { rows.push(["retries", kind, run.retries[kind], "var(--retry)"]); });
    Object.keys(run.errors).forEach(function (kind) { rows.push(["failed requests", kind, run.errors[kind], "var(--fail)"]); });
    var height = Math.max(1, rows.length) * 22;
    var chart = figure(parent, "kinds", "Retries and errors by kind",
      "Failed requests (each attempt) and the retries they led to, by what went wrong.", height, { "data-rows": rows.length });
    if (!rows.length) {
      shape("text", { x: MARGIN.left, y: MARGIN.top + 14 }, chart.svg).textContent = "No retries and no errors.";
      return;
    }
    var max = Math.max.apply(null, rows.map(function (r) { return r[2]; }));
    var x = scale(0, max, MARGIN.left + 150, WIDTH - MARGIN.right - 50);
    rows.forEach(function (r, index) {
      var top = MARGIN.top + index * 22;
      shape("text", { x: MARGIN.left + 144, y: top + 14, "text-anchor": "end" }, chart.svg).textContent = (r[0] === "retries" ? "retry: " : "failed: ") + r[1];
      shape("rect", {
        class: "bar", x: x(0), y: top + 2, width: Math.max(1, x(r[2]) - x(0)), height: 16, fill: r[3],
        "data-group": r[0], "data-kind": r[1], "data-value": r[2],
      }, chart.svg, r[0] + ", " + r[1] + ": " + integer(r[2]));
      shape("text", { x: x(r[2]) + 6, y: top + 14 }, chart.svg).textContent = integer(r[2]);
    });
  }

  // ---- The job's history ----------------------------------------------------------------

  var STATUS_COLOR = {
    ok: "var(--ok)", partial: "var(--retry)", failed: "var(--fail)",
    interrupted: "var(--s4)", skipped: "var(--wait)", missed: "var(--wait)",
  };

  function runLabel(run) {
    return run.started ? run.started.slice(5, 19).replace("T", " ") : run.run_id;
  }

  // An ordinal axis of runs: one slot a run, oldest on the left.
  function runAxis(chart, runs, max, yFormat) {
    var slot = (WIDTH - MARGIN.left - MARGIN.right) / Math.max(1, runs.length);
    var x = function (index) { return MARGIN.left + slot * (index + 0.5); };
    var y = scale(0, max || 1, MARGIN.top + chart.height, MARGIN.top);
    var every = Math.max(1, Math.ceil(runs.length / 6));
    var shown = runs.map(function (_, index) { return index; }).filter(function (index) { return index % every === 0; });
    axes(chart, x, y, shown, ticks(0, max || 1, 4), function (index) { return runLabel(runs[index]); }, yFormat || decimal);
    return { x: x, y: y, slot: slot };
  }

  function drawHistory(history) {
    var part = section("The job's runs", history.length + " run" + (history.length === 1 ? "" : "s") + " in the history.");
    if (!history.length) {
      element("p", { class: "empty" }, part, "No runs in the history yet: run the job with the same --state.");
      return;
    }
    var grid = element("div", { class: "grid" }, part);
    var maxSeconds = Math.max.apply(null, history.map(function (r) { return r.seconds; }).concat([0.001]));
    var chart = figure(grid, "runs", "Duration and status", "A bar per run, coloured by how it ended.", 150,
      { "data-count": history.length });
    var axis = runAxis(chart, history, maxSeconds, function (s) { return decimal(s) + " s"; });
    history.forEach(function (run, index) {
      var width = Math.max(2, Math.min(40, axis.slot * 0.7));
      shape("rect", {
        class: "bar", x: axis.x(index) - width / 2, y: axis.y(run.seconds), width: width,
        height: Math.max(1, MARGIN.top + chart.height - axis.y(run.seconds)), fill: STATUS_COLOR[run.status] || "var(--muted)",
        "data-run": run.run_id, "data-value": run.seconds, "data-status": run.status,
      }, chart.svg, run.run_id + " (" + run.status + ")\n" + decimal(run.seconds) + " s · " + integer(run.pages) + " pages · " +
        integer(run.records) + " records · " + integer(run.requests) + " requests · " + integer(run.retries) + " retries");
    });
    var statuses = {};
    history.forEach(function (run) { statuses[run.status] = true; });
    legend(chart.node, Object.keys(statuses).map(function (s) { return [s, STATUS_COLOR[s] || "var(--muted)"]; }));
    lineChart(grid, "pages", "Pages and records per run", "", history,
      [{ name: "pages", values: history.map(function (r) { return r.pages; }) },
       { name: "records", values: history.map(function (r) { return r.records; }) }], { "data-name": "pages" }, true);
  }

  // Lines over runs; `separate` gives each series its own scale (pages and records differ a
  // hundredfold), drawn as its share of its own maximum.
  function lineChart(parent, name, title, caption, runs, series, attributes, separate) {
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) max = Math.max(max, v); }); });
    var chart = figure(parent, name, title, caption || null, 150, attributes);
    var axis = runAxis(chart, runs, separate ? 100 : max, separate ? function (v) { return v + "%"; } : decimal);
    series.forEach(function (s, index) {
      var own = 0;
      s.values.forEach(function (v) { if (v !== null) own = Math.max(own, v); });
      var y = separate ? function (v) { return axis.y((100 * v) / (own || 1)); } : axis.y;
      var path = "";
      s.values.forEach(function (v, run) {
        if (v === null) return;
        path += (path ? "L" : "M") + axis.x(run).toFixed(1) + "," + y(v).toFixed(1);
      });
      shape("path", { d: path || "M0,0", fill: "none", stroke: color(index), "stroke-width": 1.8 }, chart.svg, s.name);
      s.values.forEach(function (v, run) {
        if (v === null) return;
        shape("circle", {
          class: "mark", cx: axis.x(run), cy: y(v), r: runs.length > 60 ? 2 : 3.5, fill: color(index),
          "data-series": s.name, "data-run": runs[run].run_id, "data-value": v,
        }, chart.svg, runs[run].run_id + "\n" + s.name + ": " + decimal(v));
      });
    });
    if (separate) chart.node.querySelector("figcaption") || element("figcaption", {}, chart.node, "Each line as a share of its own largest value; the numbers are on hover.");
    legend(chart.node, series.map(function (s, index) { return [s.name, color(index)]; }));
    return chart;
  }

  function stackedChart(parent, reducer, runs) {
    var series = reducer.series.slice(0, SERIES - 1);
    var rest = reducer.series.slice(SERIES - 1);
    if (rest.length) {
      series.push({
        name: rest.length + " more",
        values: runs.map(function (_, run) {
          return rest.reduce(function (acc, s) { return acc + (s.values[run] || 0); }, 0);
        }),
      });
    }
    var sums = runs.map(function (_, run) {
      return series.reduce(function (acc, s) { return acc + (s.values[run] || 0); }, 0);
    });
    var chart = figure(parent, "reducer", reducer.name, "Counts by value, stacked, per run.", 150,
      { "data-name": reducer.name, "data-shape": "stacked" });
    var axis = runAxis(chart, runs, Math.max.apply(null, sums.concat([1])));
    var width = Math.max(2, Math.min(40, axis.slot * 0.7));
    runs.forEach(function (run, index) {
      var base = 0;
      series.forEach(function (s, at) {
        var v = s.values[index] || 0;
        if (!v) return;
        shape("rect", {
          class: "bar", x: axis.x(index) - width / 2, y: axis.y(base + v), width: width,
          height: Math.max(0.5, axis.y(base) - axis.y(base + v)), fill: color(at),
          "data-series": s.name, "data-run": run.run_id, "data-value": v,
        }, chart.svg, run.run_id + "\n" + s.name + ": " + decimal(v) + " of " + decimal(sums[index]));
        base += v;
      });
    });
    legend(chart.node, series.map(function (s, index) { return [s.name, color(index)]; }));
  }

  function drawReducers(reducers, history) {
    var part = section("Reducers across runs", "Every reducer with a number (or numbers by value, or a ranking) in the runs' result documents.");
    if (!reducers.length) {
      element("p", { class: "empty" }, part, "No result documents kept for this job's runs.");
      return;
    }
    var byId = {};
    history.forEach(function (run) { byId[run.run_id] = run; });
    var grid = element("div", { class: "grid" }, part);
    reducers.forEach(function (reducer) {
      var runs = reducer.runs.map(function (id) { return byId[id] || { run_id: id }; });
      if (reducer.shape === "stacked") {
        stackedChart(grid, reducer, runs);
      } else if (reducer.shape === "ranked") {
        lineChart(grid, "reducer", reducer.name, "The ranked values' counts per run (the top " + Math.min(SERIES, reducer.series.length) + ").",
          runs, reducer.series.slice(0, SERIES), { "data-name": reducer.name, "data-shape": "ranked" });
      } else {
        lineChart(grid, "reducer", reducer.name, null, runs, reducer.series, { "data-name": reducer.name, "data-shape": "line" });
      }
    });
  }

  // ---- The page -------------------------------------------------------------------------

  function theme() {
    var button = document.getElementById("theme");
    var root = document.documentElement;
    button.addEventListener("click", function () {
      var dark = root.getAttribute("data-theme")
        ? root.getAttribute("data-theme") === "dark"
        : window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
      root.setAttribute("data-theme", dark ? "light" : "dark");
    });
    // `#dark` or `#light` in the address picks a theme (screenshots of both).
    var wanted = window.location.hash.slice(1);
    if (wanted === "dark" || wanted === "light") root.setAttribute("data-theme", wanted);
  }

  var data = JSON.parse(document.getElementById("report-data").textContent);
  theme();
  document.getElementById("report").textContent = "";
  if (data.run) {
    drawRun(data.run);
  } else {
    section("The run", "No trace: give one with --trace FILE (written by `pagefold run --trace FILE`).");
  }
  WIDTH = 600;
  drawHistory(data.history);
  drawReducers(data.reducers, data.history);
  document.body.setAttribute("data-drawn", "yes");
})();
