// attnrec's first-paint signal (a Streamlit v2 component; attnrec/app/first_paint.py mounts it).
//
// On a fresh browser Streamlit's frontend shows a view only once it has loaded the code of every kind of element in
// it: Explore's answer (S, P(like), rank) waited ~0.4 s for the data grid's and the charts' code, which are most of
// what a first visit downloads. So the first view of a session is the answer alone, with this component. Its script
// runs once that view is on screen: two animation frames later (the answer has been painted) it tells Python, and
// that rerun draws the tables and charts. Then it starts loading plotly.js (Streamlit's own PlotlyChart chunk, the
// largest download of the page; data.chunk, from plotly_view.plotly_chunk), so the charts find it loaded or on its
// way: the whole first view came ~0.2 s sooner. It reads no data and writes nothing into the page.
//
// It never gets in the way of a run the person started. It sits outside Explore's fragment (a fragment's request
// can interrupt another page's run and leave it half drawn), and it asks only if nothing has been pressed since the
// answer was drawn (a click on another page's link must not be followed by a request for this page), while no run
// is in progress and its element is neither stale (a run is replacing the page) nor gone. After a key or button
// press it never asks: the run that press started draws the whole view itself, and so does any later run
// (first_paint.py: a session waits at most once).

const POLL_MS = 40;

export default function (component) {
  const { setTriggerValue, parentElement } = component;
  let done = false;
  let touched = false;
  const touch = () => {
    touched = true;
  };
  const stop = () => {
    done = true;
    document.removeEventListener("pointerdown", touch, true);
    document.removeEventListener("keydown", touch, true);
  };
  document.addEventListener("pointerdown", touch, true);
  document.addEventListener("keydown", touch, true);
  const ask = () => {
    if (done || touched || !parentElement.isConnected) return stop();
    const running = document.querySelector("[data-testid='stStatusWidget']");
    if (running || parentElement.closest("[data-stale='true']")) {
      setTimeout(ask, POLL_MS);
      return;
    }
    stop();
    setTriggerValue("painted", true);
    if (component.data && component.data.chunk && !window.Plotly) {
      // The folder Streamlit's index script came from, as plotly_view.js finds it.
      const index = document.querySelector("script[src*='/static/js/index']");
      const base = index ? index.src.replace(/[^/]*$/, "") : new URL("static/js/", document.baseURI).href;
      import(base + component.data.chunk).catch(() => {}); // plotly_view.js reports a chunk that does not load
    }
  };
  requestAnimationFrame(() => requestAnimationFrame(ask));
  return stop; // the element left the page: nothing to ask for
}
