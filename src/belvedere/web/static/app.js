/* Small behaviours of Belvedere's pages, kept out of the HTML so that the CSP can forbid inline scripts. */
document.documentElement.classList.add("js");
/* The phone menu: the button shows or hides the project's pages. */
document.addEventListener("click", function (e) {
  var toggle = e.target.closest && e.target.closest(".menu-toggle");
  if (!toggle) return;
  var links = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = links.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
/* A form whose answer takes a while (data-busy: what to say meanwhile) says so while the next page loads. */
document.addEventListener("submit", function (e) {
  var form = e.target;
  var text = form.getAttribute && form.getAttribute("data-busy");
  if (!text) return;
  form.setAttribute("aria-busy", "true");
  var status = form.querySelector(".busy");
  if (status) status.textContent = text;
});
document.addEventListener("change", function (e) {
  if (e.target.classList && e.target.classList.contains("js-navigate")) window.location = e.target.value;
});
document.addEventListener("click", function (e) {
  var button = e.target.closest && e.target.closest(".js-copy");
  if (!button) return;
  var text = document.getElementById(button.getAttribute("data-copy")).textContent;
  navigator.clipboard.writeText(text).then(function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  });
});

/* Charts: the data sits in a data-chart attribute as JSON ({type: line|bar|pie|sankey|map, labels, series}); ECharts
   draws it (SVG, so text stays crisp). Runs on load and on every piece of page HTMX brings in. */
function chartOption(data) {
  if (data.type === "sankey") {
    return {
      tooltip: { trigger: "item" },
      series: [{ type: "sankey", data: data.nodes, links: data.links, emphasis: { focus: "adjacency" },
                 nodeGap: 10, label: { fontSize: 11 } }]
    };
  }
  if (data.type === "pie") {
    return {
      tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + Number(p.value).toLocaleString() + " (" + p.percent + "%)"; } },
      legend: { top: 0, type: "scroll" },
      color: palette(),
      series: [{ type: "pie", radius: ["35%", "65%"], top: 24, data: data.series[0].data,
                 label: { formatter: "{b}: {d}%" } }]
    };
  }
  if (data.type === "spark") return sparkOption(data);
  return withBand(data, withAlert(data, {
    tooltip: { trigger: "axis", formatter: axisTooltip },
    legend: { top: 0, type: "scroll" },
    grid: { left: 48, right: 16, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: "category", data: data.labels },
    /* data.percent: shares from 0 to 100 %, labelled so. */
    yAxis: data.percent ? { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
                        : { type: "value", minInterval: 1 },
    color: palette(),
    series: withNotes(untilNow(data, palette()).map(function (s) {
      return { name: s.name, type: data.type || "line", stack: s.stack, smooth: false,
               showSymbol: s.point || data.labels.length < 40, data: s.data, color: s.color,
               lineStyle: s.dashed ? { type: "dashed", opacity: 0.7 } : undefined };
    }), data.notes)
  }));
}
/* Anomaly bands (data.band: {name, lower, upper}): the range the series' own past expects, shaded behind
   the lines (a transparent base up to the lower edge, then the band's height stacked on it), and the
   anomalies (data.anomalies: [{at, value, up}]) marked on the first line. The tooltip says the range
   itself, not the stacked height. */
function withBand(data, option) {
  if (!data.band) return option;
  var lower = data.band.lower, upper = data.band.upper;
  var height = upper.map(function (u, i) { return u === null || lower[i] === null ? null : u - lower[i]; });
  var shade = window.matchMedia("(prefers-color-scheme: dark)").matches ? "#8ab4f8" : "#2454c5";
  option.series.push(
    { name: "band-base", type: "line", stack: "band", data: lower, silent: true, showSymbol: false,
      lineStyle: { opacity: 0 }, tooltip: { show: false }, z: 0 },
    { name: data.band.name, type: "line", stack: "band", data: height, silent: true, showSymbol: false,
      color: shade, lineStyle: { opacity: 0 }, areaStyle: { color: shade, opacity: 0.14 }, z: 0 });
  option.legend.data = data.series.map(function (s) { return s.name; }).concat([data.band.name]);
  var bad = window.matchMedia("(prefers-color-scheme: dark)").matches ? "#ff8a80" : "#b3261e";
  if (data.anomalies && data.anomalies.length) {
    option.series[0].markPoint = {
      symbol: "circle", symbolSize: 11, itemStyle: { color: bad, borderColor: "#fff", borderWidth: 1.5 },
      label: { show: false },
      data: data.anomalies.map(function (a) {
        return { coord: [a.at, a.value], name: a.up ? "Unusually high" : "Unusually low" };
      })
    };
  }
  option.tooltip.formatter = function (points) {
    var text = axisTooltip(points.filter(function (p) { return p.seriesName.indexOf("band") !== 0 && p.seriesName !== data.band.name; }));
    var i = points.length ? points[0].dataIndex : -1;
    if (i >= 0 && lower[i] !== null && upper[i] !== null) {
      text += "\n" + data.band.name + ": " + Number(lower[i]).toLocaleString() + " – " + Number(upper[i]).toLocaleString();
    }
    if (data.links && data.links[i]) text += "\nClick: why did it change?";
    return text;
  };
  return option;
}
/* An alert's preview: its threshold (data.threshold: {value, name}) as a line, which the value axis always
   reaches, and the buckets where the rule would have fired (data.fired: [{at, value}]) as markers. */
function withAlert(data, option) {
  var first = option.series[0];
  if (!first) return option;
  var bad = window.matchMedia("(prefers-color-scheme: dark)").matches ? "#ff8a80" : "#b3261e";
  if (data.threshold) {
    var limit = data.threshold.value;
    first.markLine = {
      symbol: "none", silent: true, lineStyle: { type: "dashed", color: bad, width: 1.5 },
      label: { formatter: data.threshold.name, position: "insideEndTop", color: bad, fontSize: 11 },
      data: [{ yAxis: limit, name: data.threshold.name }]
    };
    option.yAxis.min = function (v) { return Math.min(v.min, limit); };
    option.yAxis.max = function (v) { return Math.max(v.max, limit) || 1; };
  }
  if (data.fired && data.fired.length) {
    first.markPoint = {
      symbol: "pin", symbolSize: 34, itemStyle: { color: bad }, label: { color: "#fff", fontSize: 9, formatter: "fires" },
      data: data.fired.map(function (f) { return { coord: [f.at, f.value], name: "Would fire" }; })
    };
  }
  return option;
}
/* A rule's sparkline: its last readings, no axes. */
function sparkOption(data) {
  return {
    tooltip: { trigger: "axis", formatter: axisTooltip },
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: "category", data: data.labels, show: false, boundaryGap: false },
    yAxis: { type: "value", show: false, scale: true },
    color: palette(),
    /* Few readings yet: each a dot (a single reading is no line at all). */
    series: [{ name: data.series[0].name, type: "line", data: data.series[0].data,
               showSymbol: data.labels.length < 8, symbolSize: 5,
               areaStyle: { opacity: 0.15 }, lineStyle: { width: 1.5 } }]
  };
}
/* The project's notes (data.notes: [{at: bucket index, text}]) as marked lines on the first series. */
function withNotes(series, notes) {
  if (!notes || !notes.length || !series.length) return series;
  series[0].markLine = {
    symbol: "none", silent: false, lineStyle: { type: "dotted", color: "#8a8f98" },
    label: { formatter: function (p) { return p.name; }, position: "insideEndTop", fontSize: 10 },
    data: notes.map(function (n) { return { name: n.text, xAxis: n.at }; })
  };
  return series;
}
/* Line colours, lighter on the dark theme so that thin and dashed lines keep their contrast. */
function palette() {
  return window.matchMedia("(prefers-color-scheme: dark)").matches
    ? ["#8ab4f8", "#f0a35e", "#5cc98f", "#c39bd3", "#f1948a", "#5dd0e0", "#bdc3c7", "#e6c35c"]
    : ["#2454c5", "#d9822b", "#2e9d6a", "#9b59b6", "#c0392b", "#16a3b8", "#7f8c8d", "#b8860b"];
}
/* A range under way (data.current: the bucket holding now): each line stops at now, and its last stretch,
   into the bucket that is not over, is dashed; later buckets have not begun and are not drawn as zeros.
   Lines marked dashed (an earlier period, whole) are drawn as they are. */
function untilNow(data, colors) {
  var now = data.current;
  var drawn = [];
  data.series.forEach(function (s, i) {
    var color = colors[i % colors.length];
    if (now === undefined || s.dashed) {
      drawn.push({ name: s.name, data: s.data, stack: s.stack, dashed: s.dashed, color: color });
      return;
    }
    if (data.type === "bar") {
      drawn.push({ name: s.name, color: color, stack: s.stack,
                   data: s.data.map(function (v, j) { return j <= now ? v : null; }) });
      return;
    }
    drawn.push({ name: s.name, color: color, stack: s.stack,
                 data: s.data.map(function (v, j) { return j < now ? v : null; }) });
    drawn.push({ name: s.name, color: color, dashed: true, point: now === 0,
                 data: s.data.map(function (v, j) { return j === now || j === now - 1 ? v : null; }) });
  });
  return drawn;
}
/* One line per series name (a line under way is drawn as two series), none for buckets not begun. */
function axisTooltip(points) {
  var seen = {};
  var lines = [points.length ? points[0].axisValueLabel : ""];
  points.forEach(function (p) {
    if (p.value === null || p.value === undefined || seen[p.seriesName]) return;
    seen[p.seriesName] = true;
    lines.push(p.seriesName + ": " + Number(p.value).toLocaleString());
  });
  return lines.join("\n");
}
/* The world map's shapes (Natural Earth 1:110m, see docs/web.md) load once, the first time a map shows. */
var worldMap = null;
function withWorldMap(then) {
  if (!worldMap) {
    worldMap = fetch("/static/vendor/world-110m.geo.json").then(function (r) { return r.json(); })
      .then(function (geo) { echarts.registerMap("world", geo); });
  }
  worldMap.then(then);
}
function mapOption(data) {
  var points = data.series[0].data;
  var top = points.reduce(function (m, p) { return Math.max(m, p.value); }, 1);
  var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  return {
    tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + (p.value || 0).toLocaleString() + " visitors"; } },
    /* The legend: how the shades read, from none to the top country's visitors. */
    visualMap: { min: 0, max: top, show: true, orient: "horizontal", left: 0, bottom: 0, itemWidth: 10, itemHeight: 120,
                 text: [top.toLocaleString() + " visitors", "0"], calculable: false,
                 textStyle: { color: dark ? "#a5a9b1" : "#5b5f66" },
                 inRange: { color: dark ? ["#2b3550", "#8fb0ff"] : ["#dbe4f8", "#2454c5"] } },
    series: [{ type: "map", map: "world", nameProperty: "iso2", roam: false, data: points, top: 0, bottom: 28,
               itemStyle: { areaColor: dark ? "#2a2d31" : "#eceef2", borderColor: dark ? "#44484e" : "#b8bcc4" },
               emphasis: { label: { show: false } } }]
  };
}
function drawCharts(root) {
  if (!window.echarts) return;
  (root || document).querySelectorAll("[data-chart]:not([data-chart-ready])").forEach(function (el) {
    var data = JSON.parse(el.getAttribute("data-chart"));
    if (data.type === "map") {
      el.setAttribute("data-chart-ready", "loading");
      withWorldMap(function () { draw(el, mapOption(data)); });
      return;
    }
    draw(el, chartOption(data));
  });
}
function draw(el, option) {
  var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  var chart = echarts.init(el, dark ? "dark" : null, { renderer: "svg" });
  option.backgroundColor = "transparent";
  option.animation = false;  /* figures show at once, and a screenshot shows what a reader sees */
  /* Tooltips drawn inside the chart, not as HTML: ECharts' HTML tooltips carry style attributes, which
     the CSP (style-src 'self') rightly refuses. */
  if (option.tooltip) option.tooltip.renderMode = "richText";
  chart.setOption(option);
  /* A chart whose points explain themselves (data-chart's links: a page per bucket, or null): a click on
     a bucket opens it. */
  var links = JSON.parse(el.getAttribute("data-chart")).links;
  if (links) {
    chart.getZr().on("click", function (e) {
      var at = chart.convertFromPixel({ seriesIndex: 0 }, [e.offsetX, e.offsetY]);
      var i = at && Math.round(at[0]);
      if (i >= 0 && i < links.length && links[i]) window.location = links[i];
    });
    el.classList.add("clickable");
  }
  window.addEventListener("resize", function () { chart.resize(); });
  el.setAttribute("data-chart-ready", "true");
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSettle", function (e) { drawCharts(e.target); });

/* Dashboards: drag a widget onto another to move it there; the new order is saved at once. The move
   buttons do the same without a mouse. */
(function () {
  var dragged = null;
  document.addEventListener("dragstart", function (e) {
    dragged = e.target.closest && e.target.closest("[data-widget-id]");
    if (dragged) e.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (e) {
    if (dragged && e.target.closest("[data-widget-id]")) e.preventDefault();
  });
  document.addEventListener("drop", function (e) {
    var target = dragged && e.target.closest("[data-widget-id]");
    if (!target || target === dragged) return;
    e.preventDefault();
    var grid = target.parentNode;
    var after = Array.prototype.indexOf.call(grid.children, dragged) < Array.prototype.indexOf.call(grid.children, target);
    grid.insertBefore(dragged, after ? target.nextSibling : target);
    var order = Array.prototype.map.call(grid.children, function (li) { return li.getAttribute("data-widget-id"); });
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    fetch(grid.getAttribute("data-arrange"), {
      method: "POST", headers: headers, body: "order=" + order.join(","), credentials: "same-origin"
    }).then(function (r) { if (!r.ok) window.location.reload(); });
    dragged = null;
  });
})();

/* The live event stream: server-sent events, written with textContent only (event data is visitor input). */
document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector("[data-stream]");
  if (!list || !window.EventSource) return;
  var source = new EventSource(list.getAttribute("data-stream"));
  source.onmessage = function (message) {
    var e = JSON.parse(message.data);
    var empty = list.querySelector(".stream-empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    var when = document.createElement("time");
    when.dateTime = e.timestamp;
    when.textContent = e.time || "";  /* in the project's time zone, as on every other page */
    var what = document.createElement(e.person ? "a" : "strong");
    what.textContent = e.event === "$pageview" ? "Page view" : e.event;
    if (e.person) { what.href = e.person; what.title = "This visitor's activity"; }
    var where = document.createElement("span");
    where.textContent = [e.path, e.country, e.browser, e.device_type].filter(Boolean).join(" · ");
    item.append(when, " ", what, " ", where);
    list.prepend(item);
    while (list.children.length > 100) list.lastElementChild.remove();
  };
});

/* Forms whose fields depend on a choice (data-when-<select id>="value …"): only the fields of the current
   choice show (the rule editor's metric and condition, the channel's kind). */
function showChosen(root) {
  (root || document).querySelectorAll("[data-when-metric], [data-when-condition], [data-when-channel]").forEach(function (el) {
    ["metric", "condition", "channel"].forEach(function (name) {
      var wanted = el.getAttribute("data-when-" + name);
      if (wanted === null) return;
      var select = document.getElementById(name === "channel" ? "channel-type" : name);
      if (select) el.hidden = wanted.split(" ").indexOf(select.value) < 0;
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { showChosen(document); });
document.addEventListener("htmx:afterSettle", function () { showChosen(document); });
document.addEventListener("change", function (e) {
  if (e.target.id === "metric" || e.target.id === "condition" || e.target.id === "channel-type") showChosen(document);
});
