"""The Streamlit app's library side: the only package that imports streamlit.

- :mod:`.state`: session state and URL state;
- :mod:`.sources`: where the session's bundle comes from (:func:`.sources.current`);
- :mod:`.models`, :mod:`.model_form`: the model behind a session and the home page's form;
- :mod:`.cached`: computations shared by all sessions, keyed by bundle content;
- :mod:`.frame`: the page frame (set-up, banners, errors, downloads, safe text);
- :mod:`.scoring_view`: what the scoring page shows for one (lambda, K), without Streamlit;
- :mod:`.thumbnails`, :mod:`.uploads`: pictures and uploaded files.

``app.py`` and ``pages/`` hold layout only and call these and :mod:`bliss_core.core`.
"""
