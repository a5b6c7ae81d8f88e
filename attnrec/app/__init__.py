"""The app layer: the only part of attnrec that imports Streamlit.

- `sidebar`: the shared sidebar (dataset, model, device) and `require_model`; pages call `sidebar()` first.
- `url`: URL state (`choice`, `write_url`, `url_request`): what a page shows lives in the query string.
- `session`: the session's datasets and models, the workspace, shipped checkpoints, loaded once and cached.
- `caches`: cached explanations and figures, and the tokens that name objects in cache keys.
- `widgets`: number tables, the method picker and its parameters, the baseline radio, row pickers, the view
  switch and download menu, plot selections, page links.
- `report_card`: the trust report card's layout (grouping, plan, tables, verdict reasons).

Pure helpers the app uses live outside it (typed numbers: attnrec.number_entry; the card's numbers:
attnrec.trust).
"""
