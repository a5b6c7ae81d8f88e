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
// It asks only while the page is quiet. A person who has just pressed a key or a button may have started another
// run (another page, another choice), and a request from this component could preempt that run: then it waits and
// looks again, and it never asks once its element is stale (a run is replacing the page) or gone. Whatever run the
// person started draws the whole view itself (first_paint.py: a session waits at most once).

const RETRY_MS = 500;

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
    if (done || !parentElement.isConnected) return stop();
    if (touched || parentElement.closest("[data-stale='true']")) {
      touched = false;
      setTimeout(ask, RETRY_MS);
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
