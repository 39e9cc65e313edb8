// report.html: one self-contained page — Chart.js (Debian's libjs-chart.js, embedded
// in Kiln at build time) and the run's data are inlined, so the file opens anywhere,
// offline, and can be mailed around on its own.
//
// The charts are drawn without animation; once drawn, each canvas is marked with
// data-rendered and data-painted-pixels and the body with data-charts-ready (the ids
// drawn), which is what the headless-Chromium test reads back.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "kiln/metrics/ranking.hpp"
#include "kiln/report.hpp"
#include "report/report_detail.hpp"

namespace kiln::report {

const char* chartjs_source();  // generated at build time (empty when Chart.js was not found)

bool has_chartjs() { return chartjs_source()[0] != '\0'; }

namespace {

using json = nlohmann::json;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// JSON inside <script>: "</" cannot end the element when written "<\/" (the same JSON string).
std::string script_json(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The curves the charts draw, thinned to a few hundred points each (numbers elsewhere use all).
json chart_data(const RunSummary& run, const json& evaluation) {
  json d;
  d["epochs"] = json::array();
  for (std::size_t e = 0; e < run.history.epoch.size(); ++e) d["epochs"].push_back(run.history.epoch[e] + 1);
  d["history"] = json::object();
  for (const auto& [k, values] : run.history.history) {
    json list = json::array();
    for (double v : values) list.push_back(std::isfinite(v) ? json(v) : json(nullptr));
    d["history"][k] = list;
  }
  std::vector<std::string> keys;
  for (const auto& [k, v] : run.history.history) keys.push_back(k);
  d["curves"] = report_detail::curve_metrics(keys);
  d["classes"] = json::array();
  const auto roc = metrics::roc_curves_ovr(run.y_true, run.scores);
  const auto pr = metrics::precision_recall_curves_ovr(run.y_true, run.scores);
  for (std::size_t c = 0; c < roc.size(); ++c) {
    const json& per = evaluation.at("per_class")[c];
    json cls = {
        {"name", per.at("name")}, {"roc_auc", per.at("roc_auc")}, {"average_precision", per.at("average_precision")}};
    json roc_points = json::array(), pr_points = json::array();
    if (!per.at("roc_auc").is_null()) {
      for (std::size_t i : report_detail::thin(roc[c].fpr.size(), 250))
        roc_points.push_back({roc[c].fpr[i], roc[c].tpr[i]});
    }
    for (std::size_t i : report_detail::thin(pr[c].recall.size(), 250)) {
      pr_points.push_back({pr[c].recall[i], pr[c].precision[i]});
    }
    cls["roc"] = roc_points;
    cls["pr"] = pr_points;
    d["classes"].push_back(cls);
  }
  return d;
}

constexpr const char* kReportCss = R"(
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 24px auto; max-width: 1240px; color: #222; padding: 0 16px; }
h1 { font-size: 1.5em; margin-bottom: 4px; } h2 { font-size: 1.15em; margin: 28px 0 10px; }
.summary { color: #444; margin: 0 0 16px; } .summary b { color: #000; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 18px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 12px 16px; background: #fff; }
.chart { position: relative; height: 340px; } .chart.square { height: 520px; }
table { border-collapse: collapse; font-size: 0.92em; } th, td { padding: 3px 10px; }
table.kv th { text-align: left; color: #555; font-weight: normal; } table.kv td { font-family: monospace; }
table.metrics td, table.metrics th { text-align: right; } table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.cm td { width: 46px; height: 34px; text-align: center; font-variant-numeric: tabular-nums; border: 1px solid #fff; }
table.cm th { font-weight: normal; color: #444; } table.cm th.col { writing-mode: vertical-rl; transform: rotate(180deg); height: 90px; text-align: left; }
pre { background: #f6f8fa; padding: 12px; border-radius: 6px; overflow-x: auto; }
.note { color: #8a6d3b; background: #fcf8e3; padding: 8px 12px; border-radius: 6px; }
)";

constexpr const char* kScript = R"(
(function () {
  var body = document.body;
  try {
    var data = JSON.parse(document.getElementById('run-data').textContent);
    if (typeof Chart === 'undefined') { body.dataset.chartsReady = ''; body.dataset.chartsError = 'Chart.js missing'; return; }
    var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
    var drawn = [];
    function painted(canvas) {
      var img = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data, n = 0;
      for (var i = 3; i < img.length; i += 4) if (img[i] !== 0) n++;
      return n;
    }
    function draw(id, config) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
      new Chart(canvas, config);
      canvas.dataset.rendered = 'true';
      canvas.dataset.paintedPixels = String(painted(canvas));
      drawn.push(id);
    }
    function axis(title, min, max) {
      var a = { title: { display: true, text: title } };
      if (min !== undefined) { a.min = min; a.max = max; }
      return a;
    }
    data.curves.forEach(function (metric) {
      var sets = [{ label: 'training', data: data.history[metric], borderColor: palette[0], backgroundColor: palette[0] }];
      if (data.history['val_' + metric]) sets.push({ label: 'validation', data: data.history['val_' + metric], borderColor: palette[1], backgroundColor: palette[1] });
      draw('chart-curve-' + metric, { type: 'line', data: { labels: data.epochs, datasets: sets },
        options: { plugins: { title: { display: true, text: metric + ' per epoch' } }, scales: { x: axis('epoch'), y: axis(metric) } } });
    });
    if (document.getElementById('chart-learning-rate')) {
      var lr = data.history.learning_rate, top = Math.max.apply(null, lr);
      draw('chart-learning-rate', { type: 'line', data: { labels: data.epochs, datasets: [{ label: 'learning rate', data: lr, borderColor: palette[2], backgroundColor: palette[2] }] },
        options: { plugins: { title: { display: true, text: 'learning rate per epoch' } },
                   scales: { x: axis('epoch'), y: Object.assign(axis('learning rate', 0, top * 1.1), { ticks: { callback: function (v) { return Number(v).toExponential(1); } } }) } } });
    }
    function curveSets(key, valueKey, label) {
      return data.classes.map(function (c, i) {
        var value = c[valueKey] === null ? 'n/a' : c[valueKey].toFixed(3);
        return { label: c.name + ' (' + label + ' ' + value + ')', showLine: true, pointRadius: 0, borderWidth: 2,
                 borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
                 data: c[key].map(function (p) { return { x: p[0], y: p[1] }; }) };
      }).filter(function (s) { return s.data.length > 0; });
    }
    var roc = curveSets('roc', 'roc_auc', 'AUC');
    roc.push({ label: 'chance', showLine: true, pointRadius: 0, borderDash: [6, 4], borderColor: '#999', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }] });
    var square = { plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } } };
    draw('chart-roc', { type: 'scatter', data: { datasets: roc }, options: Object.assign({ scales: { x: axis('false positive rate', 0, 1), y: axis('true positive rate', 0, 1) } }, square) });
    draw('chart-pr', { type: 'scatter', data: { datasets: curveSets('pr', 'average_precision', 'AP') }, options: Object.assign({ scales: { x: axis('recall', 0, 1), y: axis('precision', 0, 1.02) } }, square) });
    body.dataset.chartsReady = drawn.join(' ');
  } catch (e) {
    body.dataset.chartsError = String(e && e.message || e);
  }
})();
)";

}  // namespace

std::string report_html(const RunSummary& run, const json& evaluation, const std::string& png_problem) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>Kiln run: " + escape(run.title) + "</title>\n<style>" + kReportCss + "</style>\n</head>\n<body>\n";
  h += "<h1>" + escape(run.title) + "</h1>\n";
  const json& macro = evaluation.at("macro");
  const json& auc = evaluation.at("roc_auc_ovr").at("macro");
  h += "<p class=\"summary\">Test accuracy <b id=\"test-accuracy\">" +
       fixed(evaluation.at("accuracy").get<double>(), 4) + "</b> &middot; macro F1 <b>" +
       fixed(macro.at("f1").get<double>(), 4) + "</b> &middot; ROC AUC (macro, one class against the rest) <b>" +
       (auc.is_null() ? std::string("undefined") : fixed(auc.get<double>(), 4)) + "</b> &middot; " +
       std::to_string(evaluation.at("num_samples").get<std::int64_t>()) + " test samples, " +
       std::to_string(evaluation.at("num_classes").get<std::int64_t>()) + " classes</p>\n";
  if (!png_problem.empty()) h += "<p class=\"note\">PNG images were not drawn: " + escape(png_problem) + "</p>\n";
  if (!has_chartjs())
    h += "<p class=\"note\">Chart.js was not found when Kiln was built (libjs-chart.js): charts are missing.</p>\n";

  // Configuration and the averaged metrics.
  h +=
      "<section class=\"grid\">\n<div class=\"card\"><h2>Configuration</h2><table class=\"kv\" id=\"configuration\">\n";
  if (run.config.is_object()) {
    for (const auto& [k, v] : run.config.items())
      h += "<tr><th>" + escape(k) + "</th><td>" + escape(scalar_text(v)) + "</td></tr>\n";
  }
  h += "</table></div>\n<div class=\"card\"><h2>Test metrics</h2><table class=\"metrics\">\n";
  h += "<tr><th></th><th>precision</th><th>recall</th><th>F1</th></tr>\n";
  for (const char* a : {"macro", "micro", "weighted"}) {
    const json& v = evaluation.at(a);
    h += std::string("<tr><td>") + a + " average</td><td>" + fixed(v.at("precision").get<double>(), 4) + "</td><td>" +
         fixed(v.at("recall").get<double>(), 4) + "</td><td>" + fixed(v.at("f1").get<double>(), 4) + "</td></tr>\n";
  }
  h += "</table>\n<table class=\"metrics\">\n";
  const auto number = [&](const json& v) { return v.is_null() ? std::string("undefined") : fixed(v.get<double>(), 4); };
  h += "<tr><td>ROC AUC, macro / weighted</td><td>" + number(evaluation.at("roc_auc_ovr").at("macro")) + " / " +
       number(evaluation.at("roc_auc_ovr").at("weighted")) + "</td></tr>\n";
  h += "<tr><td>average precision, macro / weighted</td><td>" + number(evaluation.at("average_precision").at("macro")) +
       " / " + number(evaluation.at("average_precision").at("weighted")) + "</td></tr>\n";
  if (evaluation.contains("top_k_accuracy")) {
    for (const auto& [k, v] : evaluation.at("top_k_accuracy").items()) {
      h += "<tr><td>top-" + k + " accuracy</td><td>" + number(v) + "</td></tr>\n";
    }
  }
  h += "</table></div>\n</section>\n";

  // Training curves.
  std::vector<std::string> keys;
  for (const auto& [k, v] : run.history.history) keys.push_back(k);
  h += "<h2>Training and validation curves</h2>\n<section class=\"grid\">\n";
  for (const auto& m : report_detail::curve_metrics(keys)) {
    h += "<div class=\"card\"><div class=\"chart\"><canvas id=\"chart-curve-" + escape(m) +
         "\" role=\"img\" aria-label=\"" + escape(m) + " per epoch\"></canvas></div></div>\n";
  }
  // The learning rate gets a chart when a schedule changed it; a constant one is in the configuration.
  const auto lr = run.history.history.find("learning_rate");
  if (lr != run.history.history.end() &&
      std::adjacent_find(lr->second.begin(), lr->second.end(), std::not_equal_to<>()) != lr->second.end()) {
    h += "<div class=\"card\"><div class=\"chart\"><canvas id=\"chart-learning-rate\" role=\"img\" "
         "aria-label=\"learning rate per epoch\"></canvas></div></div>\n";
  }
  h += "</section>\n";

  // The confusion matrix as a heat map: a table whose cells are shaded by count.
  const json& cm = evaluation.at("confusion_matrix");
  std::int64_t most = 1;
  for (const auto& row : cm) {
    for (const auto& v : row) most = std::max(most, v.get<std::int64_t>());
  }
  const auto names = evaluation.at("per_class");
  h += "<h2>Confusion matrix</h2>\n<div class=\"card\"><table class=\"cm\" id=\"confusion-matrix\">\n";
  h += "<tr><th>true \\ predicted</th>";
  for (const auto& c : names) h += "<th class=\"col\">" + escape(c.at("name").get<std::string>()) + "</th>";
  h += "</tr>\n";
  for (std::size_t t = 0; t < cm.size(); ++t) {
    h += "<tr><th>" + escape(names[t].at("name").get<std::string>()) + "</th>";
    for (const auto& v : cm[t]) {
      const double f = double(v.get<std::int64_t>()) / double(most);
      // From #f7fbff to #08306b (the PNG's palette), light text on dark cells.
      const int r = int(std::lround(247 + (8 - 247) * f)), g = int(std::lround(251 + (48 - 251) * f)),
                b = int(std::lround(255 + (107 - 255) * f));
      char style[96];
      std::snprintf(style, sizeof style, "background:rgb(%d,%d,%d);color:%s", r, g, b, f > 0.5 ? "#fff" : "#222");
      h += std::string("<td style=\"") + style + "\">" + std::to_string(v.get<std::int64_t>()) + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</table></div>\n";

  h += "<h2>ROC and precision-recall curves (each class against the rest)</h2>\n<section class=\"grid\">\n";
  h += "<div class=\"card\"><div class=\"chart square\"><canvas id=\"chart-roc\" role=\"img\" aria-label=\"ROC "
       "curves\"></canvas></div></div>\n";
  h += "<div class=\"card\"><div class=\"chart square\"><canvas id=\"chart-pr\" role=\"img\" "
       "aria-label=\"precision-recall curves\"></canvas></div></div>\n";
  h += "</section>\n";

  h += "<h2>Classification report</h2>\n<pre id=\"classification-report\">" +
       escape(evaluation.at("classification_report").get<std::string>()) + "</pre>\n";
  h += "<h2>Per class</h2>\n<div class=\"card\"><table class=\"metrics\" id=\"per-class\">\n"
       "<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>ROC AUC</th><th>average "
       "precision</th></tr>\n";
  for (const auto& c : names) {
    h += "<tr><td>" + escape(c.at("name").get<std::string>()) + "</td><td>" +
         fixed(c.at("precision").get<double>(), 4) + "</td><td>" + fixed(c.at("recall").get<double>(), 4) +
         "</td><td>" + fixed(c.at("f1").get<double>(), 4) + "</td><td>" +
         std::to_string(c.at("support").get<std::int64_t>()) + "</td><td>" + number(c.at("roc_auc")) + "</td><td>" +
         number(c.at("average_precision")) + "</td></tr>\n";
  }
  h += "</table></div>\n";
  h += "<p style=\"color:#777;font-size:0.85em\">Written by Kiln. Charts: Chart.js (MIT licence), inlined. "
       "The numbers are in metrics.json and history.json; predictions.csv holds every test prediction.</p>\n";
  h += "<script>\n";
  h += chartjs_source();
  h += "\n</script>\n<script type=\"application/json\" id=\"run-data\">" + script_json(chart_data(run, evaluation)) +
       "</script>\n<script>" + kScript + "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace kiln::report
