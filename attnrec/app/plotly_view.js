// attnrec's in-place Plotly chart (a Streamlit v2 component; attnrec/app/plotly_view.py mounts it).
//
// st.plotly_chart gives a chart a new element id whenever its figure changes, so the browser throws the old
// chart away and builds a new one (Plotly.newPlot and a React remount) on every new pair. Here the element keeps
// its key, and a new figure is drawn into the same <div> with Plotly.react, which redraws only what changed.
//
// data: {figure: the figure's JSON (plotly.io.to_json), chunk: Streamlit's PlotlyChart chunk (its plotly.js,
// which sets window.Plotly when loaded), view: a token for what the figure shows, clickable: report clicks}.
// A click sets the state value "click" = {view, points: [customdata of each clicked point, or a heatmap cell's
// [row, column]]}; a double click
// clears it. Python ignores a click whose view is not the figure on screen (a click on the previous pair).

function plotly(chunk) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  // Streamlit's own copy of plotly.js, from the folder its index script was served from.
  const index = document.querySelector("script[src*='/static/js/index']");
  const base = index ? index.src.replace(/[^/]*$/, "") : new URL("static/js/", document.baseURI).href;
  return import(base + chunk).then(() => window.Plotly);
}

// The look st.plotly_chart gives the app's other charts (Streamlit's theme): bold titles, the theme's text and
// background colours (a dark theme gets a dark chart, not plotly_white's white box).
// Titles are escaped text (attnrec.safety.plotly_text), so wrapping them in <b> adds the only markup.
function themed(layout, parentElement) {
  const style = getComputedStyle(parentElement.host || parentElement);
  const text = style.getPropertyValue("--st-text-color").trim();
  const background = style.getPropertyValue("--st-background-color").trim();
  if (text) layout.font = { ...layout.font, color: (layout.font || {}).color || text };
  if (background) {
    layout.paper_bgcolor = layout.paper_bgcolor || background;
    layout.plot_bgcolor = layout.plot_bgcolor || background;
  }
  const title = layout.title;
  if (title && typeof title.text === "string" && title.text) layout.title = { ...title, text: `<b>${title.text}</b>` };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let chart = parentElement.querySelector(".attnrec-plot");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "attnrec-plot";
    chart.style.width = "100%";
    parentElement.appendChild(chart);
  }
  chart.attnrecSetState = setStateValue;
  chart.attnrecView = data.view;
  // Streamlit calls the function returned last when the element leaves the page (another view): free Plotly's
  // listeners (its window resize handler holds the chart), once the chart is really detached (a quick rerun may
  // call an earlier one while the chart stays).
  const release = () =>
    setTimeout(() => {
      if (!chart.isConnected && window.Plotly) {
        window.Plotly.purge(chart);
        chart.attnrecClicks = false;
        chart.attnrecFigure = null;
      }
    }, 0);
  if (chart.attnrecFigure === data.figure) return release; // a rerun that left this figure as it was
  chart.attnrecFigure = data.figure;
  const figure = JSON.parse(data.figure);
  themed(figure.layout || (figure.layout = {}), parentElement);
  plotly(data.chunk)
    .then((Plotly) => {
      if (chart.attnrecFigure !== data.figure) return; // a newer figure came while plotly.js was loading
      const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
      Plotly.react(chart, figure.data, figure.layout, config);
      if (data.clickable && !chart.attnrecClicks) {
        chart.attnrecClicks = true;
        chart.on("plotly_click", (event) => {
          // A point's customdata, or a heatmap cell's [row, column] (heatmaps drawn without click markers).
          const cell = (p) => p.customdata ?? (Array.isArray(p.pointNumber) ? p.pointNumber : null);
          const points = event.points.map(cell).filter((c) => c !== undefined && c !== null);
          if (points.length) chart.attnrecSetState("click", { view: chart.attnrecView, points });
        });
        chart.on("plotly_doubleclick", () => chart.attnrecSetState("click", null));
      }
    })
    .catch((error) => {
      chart.attnrecFigure = null;
      chart.textContent = `This chart could not be drawn: ${error}`; // text, never markup
    });
  return release;
}
