/* Small behaviours of Belvedere's pages, kept out of the HTML so that the CSP can forbid inline scripts. */
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

/* Charts: the data sits in a data-chart attribute as JSON; ECharts draws it (SVG, so text stays crisp). */
function drawCharts() {
  if (!window.echarts) return;
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var data = JSON.parse(el.getAttribute("data-chart"));
    var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    var chart = echarts.init(el, dark ? "dark" : null, { renderer: "svg" });
    chart.setOption({
      backgroundColor: "transparent",
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", smooth: false, showSymbol: data.labels.length < 40, data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-chart-ready", "true");
  });
}
document.addEventListener("DOMContentLoaded", drawCharts);

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
    when.textContent = new Date(e.timestamp).toLocaleTimeString();
    var what = document.createElement("strong");
    what.textContent = e.event === "$pageview" ? "Page view" : e.event;
    var where = document.createElement("span");
    where.textContent = [e.path, e.country, e.browser, e.device_type].filter(Boolean).join(" · ");
    item.append(when, " ", what, " ", where);
    list.prepend(item);
    while (list.children.length > 50) list.lastElementChild.remove();
  };
});
